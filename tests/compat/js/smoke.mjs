// Smoke test of the official OpenSandbox JavaScript SDK against a Sandhold server.
//
// The SDK reads OPEN_SANDBOX_DOMAIN and OPEN_SANDBOX_API_KEY itself. The
// image defaults to sandhold/base and can be changed with SMOKE_IMAGE. The
// whole round runs twice: sandbox endpoints reached directly, then through
// the server proxy (useServerProxy). Exits 1 with a message on any mismatch.

import { ConnectionConfig, Sandbox, SandboxManager } from "@alibaba-group/opensandbox";

const IMAGE = process.env.SMOKE_IMAGE ?? "sandhold/base:0.1.0";

class Mismatch extends Error {}

function check(ok, what, actual) {
  if (!ok) {
    throw new Mismatch(`${what} (got ${JSON.stringify(actual)})`);
  }
}

function checkEqual(actual, expected, what) {
  check(
    JSON.stringify(actual) === JSON.stringify(expected),
    `${what}: expected ${JSON.stringify(expected)}`,
    actual,
  );
}

async function round(useServerProxy) {
  const label = useServerProxy ? "proxy" : "direct";
  const tag = `${label}-${process.pid}-${Date.now()}`;
  const connectionConfig = new ConnectionConfig({ requestTimeoutSeconds: 60, useServerProxy });
  const step = (name) => console.log(`[${label}] ${name}`);

  step("create");
  const sandbox = await Sandbox.create({
    connectionConfig,
    image: IMAGE,
    timeoutSeconds: 600,
    metadata: { "smoke.run": tag, thread_id: "42" },
    env: { GREETING: "hello" },
    resource: { cpu: "0.5", memory: "256Mi" },
    readyTimeoutSeconds: 60,
  });
  const manager = SandboxManager.create({ connectionConfig });
  try {
    if (useServerProxy) {
      const endpoint = await sandbox.getEndpoint(44772);
      check(
        endpoint.endpoint.includes(`/sandboxes/${sandbox.id}/proxy/44772`),
        "execd endpoint goes through the server proxy",
        endpoint,
      );
    }

    step("commands");
    const run = await sandbox.commands.run(
      "echo $GREETING; for i in 1 2; do echo line$i; done; echo oops >&2",
    );
    checkEqual(run.logs.stdout.map((m) => m.text), ["hello", "line1", "line2"], "stdout lines");
    checkEqual(run.logs.stderr.map((m) => m.text), ["oops"], "stderr lines");
    check(run.error == null, "a successful command has no error", run.error);
    checkEqual(run.exitCode, 0, "exit code of a successful command");
    check(run.logs.stdout.every((m) => Number.isInteger(m.timestamp)), "integer timestamps", run.logs.stdout);

    const failed = await sandbox.commands.run("echo before; exit 3");
    checkEqual(failed.logs.stdout.map((m) => m.text), ["before"], "stdout before a failure");
    check(failed.error != null, "a non-zero exit reports an error", failed);
    checkEqual(failed.error.value, "3", "error value of `exit 3`");
    checkEqual(failed.exitCode, 3, "exit code of `exit 3`");
    const status = await sandbox.commands.getCommandStatus(failed.id);
    check(status.running === false && status.exitCode === 3, "status of the finished `exit 3`", status);

    step("files");
    const content = "payload\nsecond line\n";
    await sandbox.files.writeFiles([{ path: "/tmp/smoke/data.txt", data: content, mode: 644 }]);
    checkEqual(await sandbox.files.readFile("/tmp/smoke/data.txt"), content, "file read back");
    const cat = await sandbox.commands.run("cat /tmp/smoke/data.txt");
    checkEqual(cat.logs.stdout.map((m) => m.text), ["payload", "second line"], "file seen by a command");

    step("info");
    const info = await sandbox.getInfo();
    checkEqual(info.id, sandbox.id, "info id");
    checkEqual(info.status?.state, "Running", "info state");
    checkEqual(info.metadata?.["smoke.run"], tag, "info metadata");
    check(info.createdAt instanceof Date && !Number.isNaN(info.createdAt.getTime()), "createdAt is a date", info.createdAt);
    check(info.expiresAt instanceof Date && info.expiresAt > info.createdAt, "expiresAt after createdAt", info.expiresAt);
    check(Array.isArray(info.entrypoint) && info.entrypoint.length > 0, "entrypoint is a list", info.entrypoint);

    step("list");
    const found = await manager.listSandboxInfos({ states: ["Running"], metadata: { "smoke.run": tag, thread_id: "42" } });
    checkEqual(found.items.map((s) => s.id), [sandbox.id], "list by metadata");
    const none = await manager.listSandboxInfos({ metadata: { "smoke.run": tag, thread_id: "other" } });
    checkEqual(none.items.map((s) => s.id), [], "list by a metadata value nobody has");
    const paused = await manager.listSandboxInfos({ states: ["Paused"], metadata: { "smoke.run": tag } });
    checkEqual(paused.items.map((s) => s.id), [], "list by another state");

    step("renew");
    const renewed = await sandbox.renew(1800);
    const renewedAt = new Date(renewed.expiresAt);
    check(!Number.isNaN(renewedAt.getTime()) && renewedAt > info.expiresAt, "renew moves expiresAt later", renewed);
    const after = await sandbox.getInfo();
    checkEqual(after.expiresAt?.getTime(), renewedAt.getTime(), "expiresAt after renew");

    step("kill");
    await sandbox.kill();
    const gone = await manager.listSandboxInfos({ metadata: { "smoke.run": tag } });
    check(
      gone.items.every((s) => s.id !== sandbox.id || ["Stopping", "Terminated"].includes(s.status?.state)),
      "killed sandbox is gone or terminating",
      gone.items,
    );
  } catch (err) {
    await sandbox.kill().catch(() => undefined);
    throw err;
  } finally {
    await sandbox.close();
    await manager.close();
  }
}

try {
  await round(false);
  await round(true);
  console.log("OK: the OpenSandbox JS SDK works against this server");
} catch (err) {
  if (err instanceof Mismatch) {
    console.error(`MISMATCH: ${err.message}`);
  } else {
    console.error("ERROR:", err?.stack ?? err);
    if (err?.error) console.error("details:", JSON.stringify(err.error));
  }
  process.exit(1);
}
