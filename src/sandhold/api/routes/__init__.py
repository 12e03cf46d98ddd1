"""One router per resource; ``sandhold.api.app`` assembles them."""
