/** The doctor's lines: what each check found, and the report and exit code made of them. */

export type CheckStatus = "ok" | "fail" | "warn" | "skip";

export interface CheckResult {
  name: string;
  status: CheckStatus;
  detail: string;
  fix?: string;
}

export const ok = (name: string, detail: string): CheckResult => ({ name, status: "ok", detail });
export const warn = (name: string, detail: string, fix?: string): CheckResult => ({
  name,
  status: "warn",
  detail,
  ...(fix ? { fix } : {}),
});
export const fail = (name: string, detail: string, fix: string): CheckResult => ({
  name,
  status: "fail",
  detail,
  fix,
});
export const skip = (name: string, reason: string): CheckResult => ({
  name,
  status: "skip",
  detail: `skipped: ${reason}`,
});

const SYMBOL: Record<CheckStatus, string> = { ok: "✓", fail: "✗", warn: "!", skip: "-" };

/** One line per check (and an indented `fix:` line under each that has one), then a summary. */
export function formatReport(results: CheckResult[]): string {
  const lines: string[] = [];
  for (const r of results) {
    lines.push(`${SYMBOL[r.status]} ${r.name}: ${r.detail}`);
    if (r.fix && r.status !== "ok") lines.push(`    fix: ${r.fix}`);
  }
  lines.push(summary(results));
  return lines.join("\n");
}

function summary(results: CheckResult[]): string {
  const count = (s: CheckStatus) => results.filter((r) => r.status === s).length;
  const failed = count("fail");
  const warnings = count("warn");
  const skipped = count("skip");
  const total = results.length;
  if (failed === 0 && warnings === 0 && skipped === 0) {
    return `All ${total} checks passed: promote-connection is ready to run.`;
  }
  const parts = [
    `${count("ok")} ok`,
    `${failed} failed`,
    `${warnings} ${warnings === 1 ? "warning" : "warnings"}`,
    `${skipped} skipped`,
  ];
  const verdict =
    failed > 0
      ? "fix the ✗ lines above and run the doctor again."
      : "promote-connection can run; read the ! lines above.";
  return `${total} checks: ${parts.join(", ")}: ${verdict}`;
}

/** 1 when any check failed (warnings and skips alone do not fail), else 0. */
export function doctorExitCode(results: CheckResult[]): number {
  return results.some((r) => r.status === "fail") ? 1 : 0;
}
