/**
 * What `npm start` says under its list of problems: where to go next. Someone who has configured
 * nothing yet (a fresh clone) is shown the demo, which needs no Slack or Auth0 account, and how
 * to begin configuring; someone half-way is shown where each setting is explained.
 */

/**
 * The settings that say which Slack app and Auth0 tenant the bot serves. None of them set means
 * nothing was configured yet; the rest (Redis, ports, policy) all have defaults.
 */
const SETUP_VARIABLES = [
  "SLACK_BOT_TOKEN",
  "SLACK_APP_TOKEN",
  "SLACK_SIGNING_SECRET",
  "APPROVAL_CHANNEL_ID",
  "AUDIT_CHANNEL_ID",
  "APPROVER_USER_IDS",
  "APPROVER_USERGROUP_ID",
  "TENANTS_FILE",
  "AUTH0_DOMAIN",
  "AUTH0_CLIENT_ID",
  "AUTH0_CLIENT_SECRET",
  "AUTH0_PRIVATE_KEY_FILE",
] as const;

/** Has any Slack or Auth0 setting been given, in the environment or in .env? */
export function anythingConfigured(env: NodeJS.ProcessEnv): boolean {
  return SETUP_VARIABLES.some((name) => Boolean(env[name]?.trim()));
}

/**
 * The lines printed after the problems. `dotenvFound`: a .env file was read (its settings are in
 * `env` by then).
 */
export function startHint(env: NodeJS.ProcessEnv, dotenvFound: boolean): string[] {
  if (anythingConfigured(env)) {
    return [
      'Each setting is explained in .env.example and in the README\'s "Configure" section.',
      "npm run doctor checks the whole setup (settings, Redis, Slack, Auth0) and says how to fix each problem.",
    ];
  }
  return [
    dotenvFound
      ? "Nothing is configured yet: .env sets no Slack or Auth0 setting, and neither does the environment."
      : "Nothing is configured yet: there is no .env here, and no Slack or Auth0 setting in the environment.",
    "  To see the whole flow on this machine first, with Slack and Auth0 emulated (no accounts needed):",
    "    npm run demo",
    "  To configure the bot for your Slack workspace and Auth0 tenant:",
    dotenvFound
      ? '    fill in .env (README, "Configure"), then npm start again'
      : '    cp .env.example .env, fill it in (README, "Configure"), then npm start again',
  ];
}
