/** The bench's output: progress lines on stderr, then one table of figures and a few notes. */

interface Row {
  /** Rows print grouped by section (the numbers of the brief), in the order they were added. */
  section: number;
  figure: string;
  value: string;
  target: string;
  /** undefined: an informative figure without a target */
  ok?: boolean;
}

export class Report {
  private readonly rows: Row[] = [];
  private readonly notes: string[] = [];
  /** The section that rows go to unless they name theirs. */
  section = 0;

  row(figure: string, value: string, target = "", ok?: boolean, section = this.section): void {
    this.rows.push({ section, figure, value, target, ok });
  }

  note(line: string): void {
    this.notes.push(line);
  }

  /** The table (figure, measured, target, ✓ or ✗), then the notes; nothing if nothing was measured. */
  print(): void {
    if (this.rows.length > 0) {
      const header: Row = { section: -1, figure: "figure", value: "measured", target: "target" };
      const sorted = [...this.rows].sort((a, b) => a.section - b.section);
      const all = [header, ...sorted];
      const w = (key: "figure" | "value" | "target") => Math.max(...all.map((r) => r[key].length));
      const [fw, vw, tw] = [w("figure"), w("value"), w("target")];
      const line = (r: Row, mark: string) =>
        `${r.figure.padEnd(fw)}  ${r.value.padStart(vw)}  ${r.target.padEnd(tw)}  ${mark}`.trimEnd();
      console.log(line(header, ""));
      console.log("─".repeat(fw + vw + tw + 7));
      for (const r of sorted) console.log(line(r, r.ok === undefined ? "" : r.ok ? "✓" : "✗"));
    }
    if (this.notes.length > 0) {
      console.log();
      for (const note of this.notes) console.log(note);
    }
  }
}

export function progress(line: string): void {
  process.stderr.write(`· ${line}\n`);
}

export const ms = (v: number) => `${v < 10 ? v.toFixed(2) : v.toFixed(1)} ms`;
export const sec = (v: number) => `${(v / 1000).toFixed(2)} s`;
export const mb = (kb: number) => `${(kb / 1024).toFixed(1)} MB`;

/** Nearest-rank percentile of an unsorted list. */
export function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[Math.min(sorted.length, rank) - 1] ?? Number.NaN;
}
