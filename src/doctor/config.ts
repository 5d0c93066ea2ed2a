import {
  type Config,
  ConfigError,
  type ConfigProblem,
  configWarnings,
  loadConfig,
} from "../config.js";
import { errorInWords } from "../error-words.js";
import { type CheckResult, fail, ok, warn } from "./report.js";

const CHECK = { config: "Configuration" } as const;

/** The settings, or one ✗ line per problem naming the variable to set. */
export function checkConfig(env: NodeJS.ProcessEnv): {
  config: Config | undefined;
  results: CheckResult[];
} {
  try {
    const config = loadConfig(env);
    const warnings = configWarnings(config).map(({ text, fix }) => warn(CHECK.config, text, fix));
    return { config, results: [ok(CHECK.config, describeConfig(config)), ...warnings] };
  } catch (err) {
    const problems: ConfigProblem[] =
      err instanceof ConfigError ? err.issues : [{ text: errorInWords(err) }];
    const results = problems.map(({ variable, text }) =>
      fail(
        CHECK.config,
        text,
        variable
          ? `set ${variable} in the environment or in .env (see .env.example)`
          : "fix the environment or .env (see .env.example)",
      ),
    );
    return { config: undefined, results };
  }
}

function describeConfig(config: Config): string {
  const mode = config.slack.appToken ? "Socket Mode" : `HTTP mode on port ${config.port}`;
  const listen = config.metricsListen;
  const host = listen?.host.includes(":") ? `[${listen.host}]` : listen?.host;
  const metrics = listen ? `; /metrics and /readyz on ${host}:${listen.port}` : "";
  const approversOf = (t: Config["tenants"][number]) => {
    const { userIds, usergroupId } = t.approvers;
    return [
      userIds.length > 0 ? `${userIds.length} ${userIds.length === 1 ? "user" : "users"}` : "",
      usergroupId ? `user group ${usergroupId}` : "",
    ]
      .filter(Boolean)
      .join(" and ");
  };
  const [only] = config.tenants;
  const tenants =
    config.tenants.length === 1 && only
      ? `approvers: ${approversOf(only)}`
      : `tenants: ${config.tenants.map((t) => `${t.name} (${t.domain}, approvers: ${approversOf(t)})`).join("; ")}`;
  return `valid (${mode}${metrics}; ${tenants})`;
}
