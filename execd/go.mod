module sandhold.dev/execd

go 1.22
