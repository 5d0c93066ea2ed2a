import { spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { Redis } from "ioredis";
import { describe, expect, inject, it } from "vitest";

interface DemoRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** The script `npm run demo` runs: `node <script>`. */
function demoScript(): string {
  const { scripts } = JSON.parse(readFileSync(join(process.cwd(), "package.json"), "utf8")) as {
    scripts: { demo: string };
  };
  const script = /^node (\S+)$/.exec(scripts.demo)?.[1];
  if (!script) throw new Error(`npm run demo is not "node <script>": ${scripts.demo}`);
  return join(process.cwd(), script);
}

/** Runs what `npm run demo` runs (built by the global setup) to the end, or kills it at the deadline. */
function runDemo(env: Record<string, string>, deadlineMs = 45_000): Promise<DemoRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [demoScript()], {
      env: { PATH: process.env.PATH ?? "", ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`the demo did not exit within ${deadlineMs} ms:\n${stdout}\n${stderr}`));
    }, deadlineMs);
    child.once("error", (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** The lines under a `── title ──` heading, up to the next heading. */
function section(output: string, title: string): string {
  const start = output.indexOf(`── ${title}`);
  if (start === -1) throw new Error(`no section "${title}" in:\n${output}`);
  const end = output.indexOf("\n── ", start + 1);
  return output.slice(start, end === -1 ? undefined : end);
}

function expectTheWholeStory(output: string): void {
  // Alice asks through the request form: she types /promote-connection alone.
  const form = section(output, "The bot opens a form (only Alice sees it)");
  expect(form).toContain("Tenant: [Pick a tenant ▾]");
  expect(form).toContain("(•) Promote a connection to domain level");
  expect(form).toContain("Pick a tenant first");
  expect(section(output, "Alice picks dev")).toContain("Connection in dev: [Find a connection ▾]");
  const offered = section(output, "Alice types “acm” in the connection picker");
  expect(offered).toContain("• acme-employees — Acme Employees\n");
  expect(offered).toContain("• acme-contractors — Acme Contractors · already domain-level");
  expect(offered).not.toContain("partner-sso");
  expect(section(output, "Alice picks acme-employees")).toContain("The form closes.");
  const alice = section(output, "Alice's direct message from the bot (only she sees it)");
  expect(alice).toMatch(/Request req_\w+ created: promote acme-employees \(con_AcmeEmployees001\)/);
  expect(alice).toContain("Reason: onboarding Acme");
  expect(alice).toContain("@bob will decide in #approvals");

  const pending = section(output, "#approvals: the approval message (");
  expect(pending).toContain("Promote a connection to domain level");
  expect(pending).toContain("@alice asks to promote acme-employees");
  expect(pending).toContain("Display name: Acme Employees");
  expect(pending).toContain("Reason: onboarding Acme");
  // What approving reaches: the tenant's third-party applications, named, and DCR's state.
  expect(pending).toContain(
    "Impact: 3 third-party applications could then sign in with it. Dynamic Client Registration is on.",
  );
  expect(pending).toContain("Third-party applications: Partner CRM, Helpdesk and Survey Tool");
  expect(pending).not.toContain("Acme Portal");
  expect(pending).toContain("[Approve] [Deny]");
  // Rendered for people: no Slack markup left.
  expect(pending).not.toMatch(/<@|<!date|\*Connection\*|`/);

  expect(section(output, "Carol sees (only to her)")).toMatch(
    /You cannot approve request req_\w+: you are not one of the approvers/,
  );

  const decided = section(output, "#approvals: the approval message, updated");
  expect(decided).toContain("Promoted to domain level");
  expect(decided).toContain("(approved by @bob)");
  expect(decided).not.toContain("[Approve]");
  expect(decided).toContain("[Request revert]");

  const dm = section(output, "Alice's next direct message from the bot");
  expect(dm).toMatch(/Your request req_\w+ to promote acme-employees/);
  expect(dm).toContain("Promoted to domain level");

  const audit = section(output, "#audit: the audit trail");
  const order = ["requested", "refused", "approved", "promoted"].map((event) =>
    audit.search(new RegExp(`\\b${event} req_\\w+ · promote acme-employees`)),
  );
  expect(order.every((at) => at >= 0)).toBe(true);
  expect([...order].sort((a, b) => a - b)).toEqual(order);
  expect(audit).toContain("by @carol");

  const auth0 = section(output, "What the emulated Auth0 received");
  // The picker's one listing of the tenant's connections, then the request's lookup.
  expect(auth0).toMatch(
    /GET \/api\/v2\/connections\?take=100&\S+ → 200\n {2}GET \/api\/v2\/connections\/con_AcmeEmployees001 → 200/,
  );
  expect(auth0).toContain("PATCH /api/v2/connections/con_AcmeEmployees001 → 200");
  const body = /The change itself: PATCH \S+\n((?: {4}.*\n)+)/.exec(auth0)?.[1];
  expect(JSON.parse(body ?? "null")).toEqual({
    is_domain_connection: true,
    display_name: "Acme Employees",
  });

  // The same change in prod: its own channel and policy, its own tenant.
  const prodMessage = section(output, "#prod-approvals: the approval message names the tenant");
  expect(prodMessage).toMatch(/@alice asks to promote acme-employees in prod \(127\.0\.0\.1:\d+\)/);
  expect(prodMessage).toContain("(0 of 2), 2 more needed");
  expect(section(output, "prod: Bob approves, then Dave")).toContain("(1 of 2), 1 more needed");
  expect(section(output, "What the emulated prod tenant received")).toContain(
    "PATCH /api/v2/connections/con_AcmeEmployees001 → 200",
  );
  expect(output).toContain(
    "Slack and Auth0 were emulated on this machine (loopback): nothing was sent to real Slack or Auth0.",
  );
  // Logs go elsewhere: nothing JSON-shaped among what a newcomer reads.
  expect(output).not.toMatch(/^\{"level"/m);
}

describe("npm run demo", () => {
  it("runs the whole flow against the test Redis, shows what everyone sees, and leaves no keys", async () => {
    const redisUrl = inject("redisUrl");
    const run = await runDemo({ REDIS_URL: redisUrl });
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    expectTheWholeStory(run.stdout);

    const prefix = /keys under "([\w.-]+):"/.exec(run.stdout)?.[1];
    expect(prefix).toMatch(/^demo-/);
    const redis = new Redis(redisUrl);
    try {
      expect(await redis.keys(`${prefix}:*`)).toEqual([]);
    } finally {
      redis.disconnect();
    }
  });

  it("with no REDIS_URL, runs its own redis-server in a temporary directory and removes it", async () => {
    const run = await runDemo({});
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    expectTheWholeStory(run.stdout);
    const dataDir = /data in (\S+) \(removed at the end\)/.exec(run.stdout)?.[1];
    expect(dataDir).toBeDefined();
    expect(existsSync(dataDir ?? "")).toBe(false);
  });
});
