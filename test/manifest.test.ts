import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { Ajv } from "ajv";
import { describe, expect, it } from "vitest";
import { REQUEST_SHORTCUT_CALLBACK_ID } from "../src/slack/views/request-modal.js";

const root = join(import.meta.dirname, "..");

interface SlashCommand {
  command: string;
  description?: string;
  usage_hint?: string;
}

interface Manifest {
  _metadata?: { major_version?: number; minor_version?: number };
  display_information?: { name?: string; description?: string };
  features?: {
    bot_user?: { display_name?: string };
    shortcuts?: { name: string; type: string; callback_id: string; description: string }[];
    slash_commands?: (SlashCommand & { url?: string })[];
  };
  oauth_config?: { scopes?: { bot?: string[]; user?: string[] } };
  settings?: {
    event_subscriptions?: { request_url?: string; bot_events?: string[] };
    interactivity?: {
      is_enabled?: boolean;
      request_url?: string;
      message_menu_options_url?: string;
    };
    socket_mode_enabled?: boolean;
  };
}

const read = (file: string) => JSON.parse(readFileSync(join(root, file), "utf8")) as Manifest;
/** Socket Mode: no public URL needed. */
const manifest = read("manifest.json");
/** The same app in HTTP mode: every request, the type-ahead's included, to POST /slack/events. */
const httpManifest = read("manifest.http.json");
const botScopes = manifest.oauth_config?.scopes?.bot ?? [];

/**
 * The bot scopes each Slack Web API method needs with a bot token, from the "Required scopes"
 * of each method's page in Slack's reference. A method the code starts calling must be added
 * here, which makes someone decide (and the manifest grant) its scope.
 */
const SCOPES_BY_METHOD: Record<string, string[]> = {
  "chat.postMessage": ["chat:write"],
  "chat.update": ["chat:write"],
  "chat.postEphemeral": ["chat:write"],
  "chat.delete": ["chat:write"],
  "chat.getPermalink": [],
  "usergroups.users.list": ["usergroups:read"],
  "usergroups.list": ["usergroups:read"],
  // Public and private channels; the approvals channel may be either.
  "conversations.info": ["channels:read", "groups:read"],
  "conversations.members": ["channels:read", "groups:read"],
  "conversations.open": ["im:write"],
  "views.open": [],
  "views.update": [],
  "views.push": [],
  "views.publish": [],
  "auth.test": [],
  "users.info": ["users:read"],
  "users.lookupByEmail": ["users:read", "users:read.email"],
  "reactions.add": ["reactions:write"],
  "reactions.remove": ["reactions:write"],
  "team.info": ["team:read"],
};

/** Needed by something other than a Web API call: the slash command itself. */
const SCOPES_WITHOUT_A_METHOD = ["commands"];

/** Calls Bolt makes on its own, whatever the code does. */
const CALLED_BY_BOLT = ["auth.test"];

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return /\.(ts|js|mts|cts)$/.test(entry.name) ? [path] : [];
  });
}

/**
 * Every Web API method called anywhere under src/, with the files that call it. Development tooling
 * (src/dev: the emulators answer Slack's methods rather than call them) is not scanned.
 */
function webApiCallsInSource(): Map<string, string[]> {
  const calls = new Map<string, string[]>();
  const add = (method: string, file: string) =>
    calls.set(method, [...new Set([...(calls.get(method) ?? []), file])]);
  const dev = join(root, "src", "dev");
  for (const file of sourceFiles(join(root, "src")).filter((f) => !f.startsWith(dev))) {
    const text = readFileSync(file, "utf8");
    const rel = file.slice(root.length + 1);
    for (const m of text.matchAll(
      /\.(chat|usergroups|views|conversations|users|reactions|team|auth|apps)\.([a-zA-Z.]+)\(/g,
    )) {
      add(`${m[1]}.${m[2]}`, rel);
    }
    for (const m of text.matchAll(/\.apiCall\(\s*["'`]([a-zA-Z.]+)["'`]/g))
      add(m[1] as string, rel);
  }
  for (const method of CALLED_BY_BOLT) add(method, "@slack/bolt");
  return calls;
}

/** Slack's JSON Schema for v1 manifests, as published; copied so the repo stands alone. */
const SCHEMA_PATH = join(root, "test", "fixtures", "slack-app-manifest.schema.v1.json");

function manifestValidator(schema: object) {
  const ajv = new Ajv({ allErrors: true });
  // The schema's only format; no need for ajv-formats.
  ajv.addFormat("uri", (value: string) => URL.canParse(value));
  // Slack's schema has two keywords of its own: `_note` (a comment) and `regex` (meant as
  // `pattern`, on background_color). Declaring them keeps strict mode on for everything else,
  // and `regex` is enforced rather than ignored.
  ajv.addKeyword("_note");
  ajv.addKeyword({
    keyword: "regex",
    type: "string",
    schemaType: "string",
    validate: (pattern: string, value: string) => new RegExp(pattern).test(value),
  });
  return ajv.compile(schema);
}

describe("the Slack app manifest (manifest.json)", () => {
  it("is a v1 manifest that Slack's published JSON Schema accepts (and so is the HTTP mode one)", () => {
    const schema = JSON.parse(readFileSync(SCHEMA_PATH, "utf8")) as { $schema?: string };
    // Draft-07 is what Ajv's default class implements.
    expect(schema.$schema).toBe("http://json-schema.org/draft-07/schema#");
    const validate = manifestValidator(schema);
    for (const m of [manifest, httpManifest]) {
      validate(m);
      expect(validate.errors ?? []).toEqual([]);
      expect(m._metadata?.major_version).toBe(1);
    }
  });

  it("offers the global shortcut that opens the request form, under the callback id the bot listens for", () => {
    expect(manifest.features?.shortcuts).toEqual([
      expect.objectContaining({
        name: "Request a change",
        type: "global",
        callback_id: REQUEST_SHORTCUT_CALLBACK_ID,
      }),
    ]);
  });

  it("manifest.http.json is the same app in HTTP mode: commands, clicks, events and the type-ahead's options to /slack/events", () => {
    const url = httpManifest.settings?.interactivity?.message_menu_options_url ?? "";
    expect(url).toMatch(/^https:\/\/[^/]+\/slack\/events$/);
    expect(httpManifest.settings).toMatchObject({
      socket_mode_enabled: false,
      interactivity: { is_enabled: true, request_url: url, message_menu_options_url: url },
      event_subscriptions: { request_url: url },
    });
    expect(httpManifest.features?.slash_commands?.map((c) => c.url)).toEqual([url]);
    // Nothing else differs: the scopes, the command, the shortcut and the events are the same.
    const withoutUrls = (m: Manifest) => {
      const copy = structuredClone(m);
      for (const command of copy.features?.slash_commands ?? []) delete command.url;
      delete copy.settings?.event_subscriptions?.request_url;
      delete copy.settings?.interactivity?.request_url;
      delete copy.settings?.interactivity?.message_menu_options_url;
      delete copy.settings?.socket_mode_enabled;
      return copy;
    };
    expect(withoutUrls(httpManifest)).toEqual(withoutUrls(manifest));
  });

  it("the schema check has teeth: a misspelt key or a malformed colour is refused", () => {
    const validate = manifestValidator(JSON.parse(readFileSync(SCHEMA_PATH, "utf8")) as object);
    expect(validate({ ...manifest, setings: {} })).toBe(false);
    expect(
      validate({
        ...manifest,
        display_information: { ...manifest.display_information, background_color: "1f2d3d" },
      }),
    ).toBe(false);
  });

  it("names and describes the app, and has a bot user", () => {
    expect(manifest.display_information?.name?.trim()).toBeTruthy();
    expect(manifest.display_information?.description?.trim()).toBeTruthy();
    expect(manifest.features?.bot_user?.display_name?.trim()).toBeTruthy();
  });

  it("declares /promote-connection with a description and a usage hint", () => {
    const command = manifest.features?.slash_commands?.find(
      (c) => c.command === "/promote-connection",
    );
    expect(command, "slash command /promote-connection").toBeDefined();
    expect(command?.description?.trim()).toBeTruthy();
    expect(command?.usage_hint?.trim()).toBeTruthy();
  });

  it("turns on interactivity (Approve and Deny buttons) and Socket Mode (no public URL needed)", () => {
    expect(manifest.settings?.interactivity?.is_enabled).toBe(true);
    expect(manifest.settings?.socket_mode_enabled).toBe(true);
  });

  it("every Web API method the code calls has a known scope, and the manifest grants it", () => {
    const calls = webApiCallsInSource();
    // Guards the scan itself: these calls are at the heart of the bot.
    expect([...calls.keys()]).toEqual(
      expect.arrayContaining(["chat.postMessage", "chat.update", "usergroups.users.list"]),
    );
    const unknown = [...calls].filter(([method]) => !(method in SCOPES_BY_METHOD));
    expect(
      unknown.map(([method, files]) => `${method} (called in ${files.join(", ")})`),
      "add these methods and their bot scopes to SCOPES_BY_METHOD in test/manifest.test.ts",
    ).toEqual([]);
    const missing = [...calls].flatMap(([method]) =>
      (SCOPES_BY_METHOD[method] ?? [])
        .filter((scope) => !botScopes.includes(scope))
        .map((scope) => `${scope} (for ${method})`),
    );
    expect(missing, "add these to oauth_config.scopes.bot in manifest.json").toEqual([]);
  });

  it("asks for no bot scope the code does not need (nor any user scope)", () => {
    const needed = new Set([
      ...SCOPES_WITHOUT_A_METHOD,
      ...[...webApiCallsInSource().keys()].flatMap((method) => SCOPES_BY_METHOD[method] ?? []),
    ]);
    expect(botScopes.filter((scope) => !needed.has(scope))).toEqual([]);
    expect(new Set(botScopes).size).toBe(botScopes.length);
    expect(manifest.oauth_config?.scopes?.user ?? []).toEqual([]);
  });
});
