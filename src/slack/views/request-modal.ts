import type { KnownBlock, ModalView, PlainTextOption } from "@slack/types";
import { CHANGE_KINDS, kindOfAction, wordsFor } from "../../requests/changes/index.js";
import { type ChangeAction, MAX_REASON_LENGTH } from "../../requests/model.js";
import { tenantLabel } from "../../requests/tenants.js";
import { mrkdwn, plain } from "./text.js";

/**
 * The request form: what `/promote-connection` with no arguments and the global shortcut open. It
 * asks for the tenant (when there are several), the change, the connection (a type-ahead over all
 * of the tenant's, for changes to a connection) and a reason (required by some tenants' policy).
 * Picking a tenant or a change redraws it (views.update), so it only ever asks what matters.
 */

export const REQUEST_MODAL_CALLBACK_ID = "request_change";
/** The global shortcut "Request a change" (manifest.json). */
export const REQUEST_SHORTCUT_CALLBACK_ID = "request_connection_change";

export const TENANT_BLOCK_ID = "tenant";
export const TENANT_ACTION_ID = "request_tenant";
export const CHANGE_BLOCK_ID = "change";
export const CHANGE_ACTION_ID = "request_change_kind";
export const CONNECTION_ACTION_ID = "request_connection";
export const REASON_BLOCK_ID = "reason";
export const REASON_ACTION_ID = "request_reason";
const CONNECTION_BLOCK_PREFIX = "connection_";

/**
 * The connection picker's block names its tenant: a picker redrawn for another tenant is a new
 * block, so a connection picked in one tenant is never submitted for another.
 */
export function connectionBlockId(tenant: string): string {
  return `${CONNECTION_BLOCK_PREFIX}${tenant}`;
}

/** The tenant a connection picker's block belongs to, or undefined for another block. */
export function tenantOfConnectionBlock(blockId: string): string | undefined {
  return blockId.startsWith(CONNECTION_BLOCK_PREFIX)
    ? blockId.slice(CONNECTION_BLOCK_PREFIX.length)
    : undefined;
}

export interface ModalTenant {
  name: string;
  domain: string;
  requireReason: boolean;
}

/** What the form shows: the tenants, and what has been picked so far. */
export interface RequestModalInput {
  tenants: readonly ModalTenant[];
  /** The tenant picked, or the only one. */
  tenant: string | undefined;
  action: ChangeAction;
}

/** Carried in private_metadata: the picks, for the type-ahead and the submission. */
export interface RequestModalMetadata {
  tenant?: string;
  action?: ChangeAction;
}

const ACTIONS: readonly ChangeAction[] = Object.values(CHANGE_KINDS).flatMap((k) => k.actions);

export function isChangeAction(value: unknown): value is ChangeAction {
  return typeof value === "string" && (ACTIONS as readonly string[]).includes(value);
}

export function readModalMetadata(text: string | undefined): RequestModalMetadata {
  try {
    const raw = JSON.parse(text ?? "") as { tenant?: unknown; action?: unknown };
    return {
      ...(typeof raw.tenant === "string" ? { tenant: raw.tenant } : {}),
      ...(isChangeAction(raw.action) ? { action: raw.action } : {}),
    };
  } catch {
    return {};
  }
}

function tenantOption(t: ModalTenant): PlainTextOption {
  return { text: plain(tenantLabel(t.name, t.domain), 75), value: t.name };
}

function changeOption(action: ChangeAction): PlainTextOption {
  return { text: plain(wordsFor(kindOfAction(action), action).title, 75), value: action };
}

/** Required when the tenant's policy says so; before a tenant is picked, when every one does. */
function reasonRequired(input: RequestModalInput): boolean {
  const picked = input.tenants.find((t) => t.name === input.tenant);
  if (picked) return picked.requireReason;
  return input.tenants.length > 0 && input.tenants.every((t) => t.requireReason);
}

export function requestModal(input: RequestModalInput): ModalView {
  const { tenants, tenant, action } = input;
  const kind = kindOfAction(action);
  const picked = tenants.find((t) => t.name === tenant);
  const blocks: KnownBlock[] = [];
  if (tenants.length > 1) {
    blocks.push({
      type: "input",
      block_id: TENANT_BLOCK_ID,
      dispatch_action: true,
      label: plain("Tenant", 2000),
      element: {
        type: "static_select",
        action_id: TENANT_ACTION_ID,
        placeholder: plain("Pick a tenant", 150),
        options: tenants.map(tenantOption),
        ...(picked ? { initial_option: tenantOption(picked) } : {}),
      },
    });
  }
  blocks.push(
    {
      type: "input",
      block_id: CHANGE_BLOCK_ID,
      dispatch_action: true,
      label: plain("Change", 2000),
      element: {
        type: "radio_buttons",
        action_id: CHANGE_ACTION_ID,
        options: ACTIONS.map(changeOption),
        initial_option: changeOption(action),
      },
    },
    { type: "context", elements: [mrkdwn(wordsFor(kind, action).effect)] },
  );
  if (!kind.targetIsTenant) {
    if (picked) {
      blocks.push({
        type: "input",
        block_id: connectionBlockId(picked.name),
        label: plain(`Connection in ${picked.name}`, 2000),
        hint: plain("Type any part of its name, display name or id.", 2000),
        element: {
          type: "external_select",
          action_id: CONNECTION_ACTION_ID,
          placeholder: plain("Find a connection", 150),
          // Opening the menu lists connections before anything is typed.
          min_query_length: 0,
        },
      });
    } else {
      blocks.push({
        type: "context",
        elements: [mrkdwn("Pick a tenant first: the connections to choose from are the tenant's.")],
      });
    }
  }
  const required = reasonRequired(input);
  blocks.push({
    type: "input",
    block_id: REASON_BLOCK_ID,
    optional: !required,
    label: plain("Reason", 2000),
    hint: plain(
      `${required ? `Required${picked ? ` in ${picked.name}` : ""} (the tenant's policy). ` : ""}Shown to the approvers and in the audit trail.`,
      2000,
    ),
    element: {
      type: "plain_text_input",
      action_id: REASON_ACTION_ID,
      multiline: true,
      max_length: MAX_REASON_LENGTH,
      placeholder: plain("Why is this change needed?", 150),
    },
  });
  const metadata: RequestModalMetadata = { ...(tenant ? { tenant } : {}), action };
  return {
    type: "modal",
    callback_id: REQUEST_MODAL_CALLBACK_ID,
    private_metadata: JSON.stringify(metadata),
    title: plain("Request a change", 24),
    submit: plain("Request", 24),
    close: plain("Cancel", 24),
    blocks,
  };
}
