/**
 * The emulated workspace behind the Web API: channels and their messages, views, user groups and
 * the bot's channel memberships, and the methods that read and change them, answering as Slack
 * documents (`{ok:true,...}` fields here; errors thrown as {@link ApiError}).
 */
import { randomBytes } from "node:crypto";
import type { SlackMessage } from "./types.js";

/** A Web API error: answered `{ok:false, error: code}`, with `detail` as Slack's `[ERROR]` line. */
export class ApiError extends Error {
  constructor(
    readonly code: string,
    readonly detail?: string,
  ) {
    super(code);
  }
}

/** One Web API method: decoded arguments in, the answer's fields (besides `ok`) out. */
export type WebApiMethod = (args: Record<string, unknown>) => Record<string, unknown>;

export interface WorkspaceOptions {
  botUserId: string;
  botId: string;
  teamId: string;
  appId: string;
  /** usergroup id -> member user ids */
  usergroups: Record<string, string[]>;
}

export interface Workspace {
  /** The methods that work on the workspace, by name (`chat.postMessage`…). */
  methods: Record<string, WebApiMethod>;
  messages(channel: string): SlackMessage[];
  /** A view as the app last drew it (views.open, views.update, views.publish), by id. */
  view(id: string): Record<string, unknown> | undefined;
  /** Every view, as last drawn, in the order they were first opened or published. */
  views(): Record<string, unknown>[];
  dmChannelId(userId: string): string;
  setUsergroup(id: string, members: string[]): void;
  setChannelMembership(channelId: string, isMember: boolean): void;
  /** Forgets messages and views; user groups and memberships are kept. */
  reset(): void;
}

interface StoredView {
  id: string;
  view: Record<string, unknown>;
}

function isUserId(id: string): boolean {
  return /^[UW][A-Z0-9]+$/.test(id);
}

function str(args: Record<string, unknown>, key: string): string | undefined {
  const v = args[key];
  if (v === undefined || v === null) return undefined;
  const s = String(v);
  return s === "" ? undefined : s;
}

export function createWorkspace(options: WorkspaceOptions): Workspace {
  const { botUserId, botId, teamId, appId } = options;
  const usergroups = new Map<string, string[]>(Object.entries(options.usergroups));
  /** channel id -> is the bot a member; absent means it is. */
  const membership = new Map<string, boolean>();
  const channels = new Map<string, SlackMessage[]>();
  const views = new Map<string, StoredView>();
  let tsCounter = 0;
  let viewCounter = 0;

  const nextTs = (): string => {
    tsCounter += 1;
    return `${1_700_000_000 + tsCounter}.000100`;
  };

  const dmChannelId = (userId: string): string => `D${userId.slice(1)}`;
  const canonicalChannel = (channel: string): string =>
    isUserId(channel) ? dmChannelId(channel) : channel;
  const channelMessages = (channel: string): SlackMessage[] => {
    const key = canonicalChannel(channel);
    let list = channels.get(key);
    if (!list) {
      list = [];
      channels.set(key, list);
    }
    return list;
  };
  const findMessage = (channel: string, ts: string): SlackMessage | undefined =>
    channels.get(canonicalChannel(channel))?.find((m) => m.ts === ts);

  const messageJson = (m: SlackMessage): Record<string, unknown> => ({
    user: m.user,
    type: "message",
    ts: m.ts,
    bot_id: botId,
    app_id: appId,
    text: m.text ?? "",
    team: teamId,
    ...(m.blocks ? { blocks: m.blocks } : {}),
    ...(m.thread_ts ? { thread_ts: m.thread_ts } : {}),
  });

  const requireChannel = (args: Record<string, unknown>): string => {
    const channel = str(args, "channel");
    if (!channel) throw new ApiError("channel_not_found");
    return channel;
  };

  const requireContent = (args: Record<string, unknown>): void => {
    const blocks = args.blocks;
    const hasBlocks = Array.isArray(blocks) && blocks.length > 0;
    if (!str(args, "text") && !hasBlocks && args.attachments === undefined) {
      throw new ApiError("no_text");
    }
    if (blocks !== undefined && !Array.isArray(blocks)) throw new ApiError("invalid_blocks");
  };

  const requireArg = (args: Record<string, unknown>, key: string): string => {
    const v = str(args, key);
    if (!v) throw new ApiError("invalid_arguments", `missing required field: ${key}`);
    return v;
  };

  const storeView = (view: unknown, existingId?: string): Record<string, unknown> => {
    if (typeof view !== "object" || view === null || Array.isArray(view)) {
      throw new ApiError("invalid_arguments", "missing required field: view");
    }
    const id = existingId ?? `V${String(++viewCounter).padStart(8, "0")}`;
    const v = view as Record<string, unknown>;
    const stored: Record<string, unknown> = {
      id,
      team_id: teamId,
      type: v.type ?? "modal",
      blocks: v.blocks ?? [],
      private_metadata: v.private_metadata ?? "",
      callback_id: v.callback_id ?? "",
      state: { values: {} },
      hash: randomBytes(8).toString("hex"),
      title: v.title,
      clear_on_close: v.clear_on_close ?? false,
      notify_on_close: v.notify_on_close ?? false,
      close: v.close ?? null,
      submit: v.submit ?? null,
      previous_view_id: null,
      root_view_id: id,
      app_id: appId,
      external_id: v.external_id ?? "",
      app_installed_team_id: teamId,
      bot_id: botId,
    };
    views.set(id, { id, view: stored });
    return stored;
  };

  const methods: Record<string, WebApiMethod> = {
    "auth.test": () => ({
      url: "https://emulated.slack.test/",
      team: "Emulated Team",
      user: "promote-connection",
      team_id: teamId,
      user_id: botUserId,
      bot_id: botId,
      is_enterprise_install: false,
    }),

    "chat.postMessage": (args) => {
      const channel = requireChannel(args);
      requireContent(args);
      // As in Slack without chat:write.public: a channel the bot was removed from refuses it.
      if (/^[CG]/.test(channel) && membership.get(canonicalChannel(channel)) === false) {
        throw new ApiError("not_in_channel");
      }
      const threadTs = str(args, "thread_ts");
      const msg: SlackMessage = {
        channel: canonicalChannel(channel),
        ts: nextTs(),
        user: botUserId,
        updates: 0,
        ...(str(args, "text") !== undefined ? { text: str(args, "text") } : {}),
        ...(Array.isArray(args.blocks) ? { blocks: args.blocks } : {}),
        ...(threadTs ? { thread_ts: threadTs } : {}),
      };
      channelMessages(channel).push(msg);
      return { channel: msg.channel, ts: msg.ts, message: messageJson(msg) };
    },

    "chat.update": (args) => {
      const channel = requireChannel(args);
      const ts = str(args, "ts");
      const msg = ts ? findMessage(channel, ts) : undefined;
      if (!msg) throw new ApiError("message_not_found");
      if (args.blocks !== undefined && !Array.isArray(args.blocks)) {
        throw new ApiError("invalid_blocks");
      }
      if (args.text !== undefined) msg.text = String(args.text);
      // As in Slack: absent blocks are kept; an empty array removes them.
      if (Array.isArray(args.blocks)) msg.blocks = args.blocks;
      msg.updates += 1;
      return { channel: msg.channel, ts: msg.ts, text: msg.text ?? "", message: messageJson(msg) };
    },

    "chat.postEphemeral": (args) => {
      requireChannel(args);
      requireArg(args, "user");
      requireContent(args);
      return { message_ts: nextTs() };
    },

    "chat.getPermalink": (args) => {
      const channel = requireChannel(args);
      const ts = str(args, "message_ts");
      const msg = ts ? findMessage(channel, ts) : undefined;
      if (!msg) throw new ApiError("message_not_found");
      return {
        channel: msg.channel,
        permalink: `https://emulated.slack.test/archives/${msg.channel}/p${msg.ts.replace(".", "")}`,
      };
    },

    "usergroups.users.list": (args) => {
      const id = str(args, "usergroup");
      const members = id ? usergroups.get(id) : undefined;
      if (!members) throw new ApiError("no_such_subteam");
      return { users: [...members] };
    },

    "views.open": (args) => {
      requireArg(args, "trigger_id");
      return { view: storeView(args.view) };
    },

    "views.publish": (args) => {
      requireArg(args, "user_id");
      return { view: storeView(args.view) };
    },

    "views.update": (args) => {
      const viewId = str(args, "view_id");
      const externalId = str(args, "external_id");
      if (!viewId && !externalId) {
        throw new ApiError("invalid_arguments", "missing required field: view_id");
      }
      const existing = viewId
        ? views.get(viewId)
        : [...views.values()].find((v) => v.view.external_id === externalId);
      if (!existing) throw new ApiError("not_found");
      return { view: storeView(args.view, existing.id) };
    },

    "conversations.info": (args) => {
      const channel = requireChannel(args);
      const id = canonicalChannel(channel);
      if (id.startsWith("D")) {
        return {
          channel: { id, is_im: true, is_member: true, user: `U${id.slice(1)}`, is_open: true },
        };
      }
      return {
        channel: {
          id,
          name: `channel-${id.toLowerCase()}`,
          is_channel: id.startsWith("C"),
          is_group: false,
          is_im: false,
          is_private: id.startsWith("G"),
          is_archived: false,
          is_member: membership.get(id) ?? true,
          context_team_id: teamId,
        },
      };
    },

    "conversations.open": (args) => {
      const users = (str(args, "users") ?? "").split(",").filter(Boolean);
      const channel = str(args, "channel");
      if (users.length === 0 && !channel) throw new ApiError("users_list_not_supplied");
      let id: string;
      if (channel) id = canonicalChannel(channel);
      else if (users.length === 1 && users[0]) id = dmChannelId(users[0]);
      else id = `G${users.map((u) => u.slice(1)).join("")}`.slice(0, 11);
      return { channel: { id } };
    },
  };

  return {
    methods,
    messages: (channel) => [...(channels.get(canonicalChannel(channel)) ?? [])],
    view: (id) => {
      const stored = views.get(id);
      return stored ? structuredClone(stored.view) : undefined;
    },
    views: () => [...views.values()].map((v) => structuredClone(v.view)),
    dmChannelId,
    setUsergroup: (id, members) => {
      usergroups.set(id, [...members]);
    },
    setChannelMembership: (channelId, isMember) => {
      membership.set(canonicalChannel(channelId), isMember);
    },
    reset: () => {
      channels.clear();
      views.clear();
    },
  };
}
