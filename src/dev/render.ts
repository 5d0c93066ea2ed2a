/**
 * Renders Slack messages (Block Kit and mrkdwn) as the plain text a person would read, for
 * `npm run demo`. Slack's own rendering has more to it; this covers what the bot sends.
 */

export interface RenderOptions {
  /** Names for user ids (U…, W…), channel ids (C…, G…, D…) and user groups (S…), without @ or #. */
  names?: Readonly<Record<string, string>>;
}

/** Unicode for the emoji shortcodes the bot uses; any other `:code:` is left as typed. */
const EMOJI: Readonly<Record<string, string>> = {
  alarm_clock: "⏰",
  ballot_box_with_check: "☑️",
  grey_question: "❔",
  heavy_plus_sign: "➕",
  hourglass: "⌛",
  hourglass_flowing_sand: "⏳",
  inbox_tray: "📥",
  information_source: "ℹ️",
  leftwards_arrow_with_hook: "↩️",
  lock: "🔒",
  mag: "🔍",
  no_entry: "⛔",
  no_entry_sign: "🚫",
  scroll: "📜",
  sparkles: "✨",
  test_tube: "🧪",
  warning: "⚠️",
  white_check_mark: "✅",
  x: "❌",
};

type Obj = Record<string, unknown>;

function asObj(value: unknown): Obj | undefined {
  return typeof value === "object" && value !== null && !Array.isArray(value)
    ? (value as Obj)
    : undefined;
}

function asList(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

function str(value: unknown): string {
  return typeof value === "string" ? value : "";
}

// escapeMrkdwn (src/slack/views/text.ts) wraps a literal * _ ~ ` in zero-width spaces so Slack
// does not format it; such a character stands for itself and must survive the stripping below.
const LITERAL = /\u200b([*_~`])\u200b/g;
const PLACEHOLDER: Readonly<Record<string, string>> = {
  "*": "\uE000",
  _: "\uE001",
  "~": "\uE002",
  "`": "\uE003",
};
const RESTORE = Object.fromEntries(Object.entries(PLACEHOLDER).map(([c, p]) => [p, c]));

function controlSequence(inner: string, names: Readonly<Record<string, string>>): string {
  const bar = inner.indexOf("|");
  const target = bar === -1 ? inner : inner.slice(0, bar);
  const label = bar === -1 ? undefined : inner.slice(bar + 1);
  if (target.startsWith("@")) {
    const id = target.slice(1);
    return `@${names[id] ?? label ?? id}`;
  }
  if (target.startsWith("#")) {
    const id = target.slice(1);
    return `#${names[id] ?? label ?? id}`;
  }
  if (target.startsWith("!")) {
    const [command = "", id = ""] = target.slice(1).split("^");
    if (command === "subteam") return label ?? `@${names[id] ?? id}`;
    if (command === "here" || command === "channel" || command === "everyone") {
      return `@${command}`;
    }
    // <!date^…|fallback> and anything else: Slack shows the fallback text when it has one.
    return label ?? command;
  }
  // A link: <https://…|label> or <https://…>.
  return label ?? target;
}

/** Bold markers only where Slack would see them: around a word run, at word edges. */
function stripBold(text: string): string {
  return text.replace(/(^|[\s(["'])\*(?=\S)([^*\n]*?\S)\*(?=$|[\s)\]"'.,:;!?])/g, "$1$2");
}

/** mrkdwn as a reader sees it: mentions and dates resolved, bold and code markers dropped. */
export function renderMrkdwn(text: string, options: RenderOptions = {}): string {
  const names = options.names ?? {};
  let out = text.replace(LITERAL, (_, c: string) => PLACEHOLDER[c] ?? c);
  out = out.replace(/<([^<>\n]+)>/g, (_, inner: string) => controlSequence(inner, names));
  // Code spans first, so that a * inside one is not taken for bold.
  out = out
    .split(/(`[^`\n]+`)/)
    .map((part) => (/^`[^`\n]+`$/.test(part) ? part.slice(1, -1) : stripBold(part)))
    .join("");
  out = out.replace(/:([a-z0-9_+-]+):/g, (whole, name: string) => EMOJI[name] ?? whole);
  out = out.replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&amp;/g, "&");
  out = out.replace(/\u200b/g, "");
  return out.replace(/[\uE000-\uE003]/g, (p) => RESTORE[p] ?? p);
}

/** A text object: mrkdwn is rendered, plain_text shown as is (emoji only when it asks). */
function renderText(value: unknown, options: RenderOptions): string {
  const text = asObj(value);
  if (!text) return "";
  const raw = str(text.text);
  if (text.type === "mrkdwn") return renderMrkdwn(raw, options);
  return text.emoji === true
    ? raw.replace(/:([a-z0-9_+-]+):/g, (whole, name: string) => EMOJI[name] ?? whole)
    : raw;
}

/** An interactive element as a reader sees it: a button is `[Label]`. */
function renderElement(value: unknown, options: RenderOptions): string {
  const element = asObj(value);
  if (!element) return "";
  switch (element.type) {
    case "button":
      return `[${renderText(element.text, options)}]`;
    case "overflow":
      return "[…]";
    case "datepicker":
    case "timepicker":
    case "datetimepicker":
      return `[${str(element.type).replace("picker", "")} ▾]`;
    case "radio_buttons": {
      // One choice a line, the chosen one filled in.
      const chosen = str(asObj(element.initial_option)?.value);
      return asList(element.options)
        .map((o) => {
          const option = asObj(o);
          const mark = str(option?.value) === chosen ? "(•)" : "( )";
          return `  ${mark} ${renderText(option?.text, options)}`;
        })
        .join("\n");
    }
    case "plain_text_input":
      return `[${renderText(element.placeholder, options) || "…"}]`;
    default: {
      // A select shows its chosen option, else its placeholder.
      const chosen = renderText(asObj(element.initial_option)?.text, options);
      const placeholder = renderText(element.placeholder, options);
      return `[${chosen || placeholder || str(element.type)} ▾]`;
    }
  }
}

/** A field such as `*Connection*\nacme` reads as `Connection: acme`. */
function renderField(value: unknown, options: RenderOptions): string {
  return renderText(value, options).replace("\n", ": ");
}

/** A bold-only mrkdwn element in a context block is a label for what follows it. */
function isLabel(value: unknown): boolean {
  const text = asObj(value);
  return text?.type === "mrkdwn" && /^\*[^*\n]+\*$/.test(str(text.text).trim());
}

function renderContext(block: Obj, options: RenderOptions): string {
  const parts: string[] = [];
  for (const element of asList(block.elements)) {
    const type = asObj(element)?.type;
    if (type === "image") {
      parts.push(`[image: ${str(asObj(element)?.alt_text)}]`);
    } else if (isLabel(element)) {
      parts.push(`${renderText(element, options)}:`);
    } else {
      parts.push(renderText(element, options));
    }
  }
  return parts.join(" ");
}

/** Text of a rich_text block, flattened; styles dropped. */
function richText(value: unknown, options: RenderOptions): string {
  const node = asObj(value);
  if (!node) return "";
  switch (node.type) {
    case "text":
      return str(node.text);
    case "link":
      return str(node.text) || str(node.url);
    case "user":
      return `@${options.names?.[str(node.user_id)] ?? str(node.user_id)}`;
    case "channel":
      return `#${options.names?.[str(node.channel_id)] ?? str(node.channel_id)}`;
    case "emoji":
      return EMOJI[str(node.name)] ?? `:${str(node.name)}:`;
    case "rich_text_list":
      return asList(node.elements)
        .map((item) => `• ${richText(item, options)}`)
        .join("\n");
    default:
      return asList(node.elements)
        .map((child) => richText(child, options))
        .join("");
  }
}

function renderBlock(value: unknown, options: RenderOptions): string | undefined {
  const block = asObj(value);
  if (!block) return undefined;
  switch (block.type) {
    case "header": {
      const title = renderText(block.text, options);
      return `${title}\n${"═".repeat(Math.min(60, [...title].length))}`;
    }
    case "section": {
      const lines: string[] = [];
      if (block.text) lines.push(renderText(block.text, options));
      for (const field of asList(block.fields)) lines.push(renderField(field, options));
      if (block.accessory) {
        const accessory = renderElement(block.accessory, options);
        if (accessory) lines.push(accessory);
      }
      return lines.join("\n");
    }
    case "context":
      return renderContext(block, options);
    case "actions":
      return asList(block.elements)
        .map((element) => renderElement(element, options))
        .join(" ");
    case "divider":
      return "─".repeat(20);
    case "image":
      return `[image: ${str(block.alt_text)}]`;
    case "input": {
      const label = `${renderText(block.label, options)}${block.optional === true ? " (optional)" : ""}`;
      const element = renderElement(block.element, options);
      const hint = renderText(block.hint, options);
      return [
        element.startsWith("  ") ? `${label}:\n${element}` : `${label}: ${element}`,
        ...(hint ? [`  ${hint}`] : []),
      ].join("\n");
    }
    case "rich_text":
      return richText(block, options);
    default:
      return `[${str(block.type) || "unknown"} block]`;
  }
}

/** Block Kit blocks as readable text, one block after another. */
export function renderBlocks(blocks: readonly unknown[], options: RenderOptions = {}): string {
  return blocks
    .map((block) => renderBlock(block, options))
    .filter((text): text is string => text !== undefined && text !== "")
    .join("\n");
}

/** A message as Slack shows it: its blocks when it has some, its text otherwise. */
export function renderMessage(
  message: { text?: unknown; blocks?: unknown },
  options: RenderOptions = {},
): string {
  const blocks = asList(message.blocks);
  return blocks.length > 0
    ? renderBlocks(blocks, options)
    : renderMrkdwn(str(message.text), options);
}
