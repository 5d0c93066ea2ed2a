/** Section 4: the bot's memory, read from /proc after each part of the run. */
import { readFileSync } from "node:fs";
import { TARGET } from "./config.js";
import { mb } from "./report.js";
import type { Bot, World } from "./world.js";

/** VmRSS and VmHWM (peak) of a process, in kB; undefined where there is no /proc. */
function memoryOf(pid: number): { rssKb: number; hwmKb: number } | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const field = (name: string) =>
      Number(new RegExp(`^${name}:\\s+(\\d+) kB`, "m").exec(status)?.[1]);
    const rssKb = field("VmRSS");
    const hwmKb = field("VmHWM");
    return Number.isFinite(rssKb) && Number.isFinite(hwmKb) ? { rssKb, hwmKb } : undefined;
  } catch {
    return undefined;
  }
}

/** RSS and peak RSS of `bot` now, in section 4 whatever section is running; `target`: judged. */
export function memoryRows(world: World, label: string, bot: Bot, target: boolean): void {
  const row = (figure: string, value: string, goal: string, ok?: boolean) =>
    world.report.row(figure, value, goal, ok, 4);
  const mem = memoryOf(bot.pid);
  const limitKb = TARGET.rssMb * 1024;
  const goal = target ? `≤ ${TARGET.rssMb} MB` : "";
  if (!mem) row(`4. ${label}: RSS / peak`, "n/a (no /proc)", goal);
  else {
    row(
      `4. ${label}: RSS now (VmRSS)`,
      mb(mem.rssKb),
      goal,
      target ? mem.rssKb <= limitKb : undefined,
    );
    row(`   … peak (VmHWM)`, mb(mem.hwmKb), goal, target ? mem.hwmKb <= limitKb : undefined);
  }
}
