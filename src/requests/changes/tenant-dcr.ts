import type { TenantSettings } from "../../auth0/management.js";
import type { ChangeAction, ChangeRequest, ChangeTarget } from "../model.js";
import { code } from "../words.js";
import type { ActionWords, ChangeKind, ManagementApi, TargetFact, TargetRef } from "./types.js";

/**
 * Turn a tenant's Dynamic Client Registration on or off. With it on, third-party applications
 * can register themselves (RFC 7591), and only then do promoted (domain-level) connections reach
 * them. The target is the tenant itself: its id is the tenant's name.
 */

const FLAG = "enable_dynamic_client_registration";

const isEnable = (action: ChangeAction) => action === "enable-dcr";

function isOn(settings: TenantSettings): boolean {
  return settings.flags?.[FLAG] === true;
}

const WORDS: Partial<Record<ChangeAction, ActionWords>> = {
  "enable-dcr": {
    verb: "turn on Dynamic Client Registration",
    does: "turn a tenant's Dynamic Client Registration on",
    doing: "turning Dynamic Client Registration on",
    noun: "Turning DCR on",
    title: "Turn on Dynamic Client Registration",
    done: "Dynamic Client Registration turned on",
    effect:
      "Third-party applications will then be able to *register themselves* in the tenant, and promoted connections will reach them.",
    confirmTitle: "Turn on Dynamic Client Registration?",
    confirmText: (r) =>
      `Applications will be able to register themselves in ${r.tenant}.${r.dryRun ? " (Dry run: nothing will change.)" : ""}`,
  },
  "disable-dcr": {
    verb: "turn off Dynamic Client Registration",
    does: "turn a tenant's Dynamic Client Registration off",
    doing: "turning Dynamic Client Registration off",
    noun: "Turning DCR off",
    title: "Turn off Dynamic Client Registration",
    done: "Dynamic Client Registration turned off",
    effect:
      "Applications will no longer be able to register themselves; those already registered stay.",
    confirmTitle: "Turn off Dynamic Client Registration?",
    confirmText: (r) =>
      `Applications will no longer be able to register themselves in ${r.tenant}.${r.dryRun ? " (Dry run: nothing will change.)" : ""}`,
  },
};

function onOff(on: boolean): string {
  return on ? "on" : "off";
}

export const tenantDcr: ChangeKind = {
  name: "tenant-dcr",
  actions: ["enable-dcr", "disable-dcr"],
  opposites: { "enable-dcr": "disable-dcr", "disable-dcr": "enable-dcr" },
  scopes: {
    lookUp: ["read:tenant_settings"],
    apply: ["read:tenant_settings", "update:tenant_settings"],
  },
  targetNoun: "tenant",
  targetUsage: "",
  targetIsTenant: true,

  parseTarget(word: string): TargetRef | { invalid: string } {
    return { kind: "id", id: word };
  },

  /** The tenant's present flag; ref.id is the tenant's name. Read fresh: a decision rests on it. */
  async lookUp(api: ManagementApi, ref: TargetRef): Promise<ChangeTarget | undefined> {
    const name = ref.kind === "id" ? ref.id : ref.name;
    const settings = await api.getTenantSettings({ fresh: true });
    return { id: name, name, facts: { wasEnabled: isOn(settings) ? "1" : "0" } };
  },

  noOp(target: ChangeTarget, action: ChangeAction): string | undefined {
    const wanted = isEnable(action);
    if ((target.facts.wasEnabled === "1") !== wanted) return undefined;
    return `Dynamic Client Registration is already ${onOff(wanted)} in ${code(target.name)}: there is nothing to approve.`;
  },

  async context(): Promise<Record<string, string>> {
    return {};
  },

  async apply(api: ManagementApi, request: ChangeRequest, options: { dryRun: boolean }) {
    const wanted = isEnable(request.action);
    const current = await api.getTenantSettings({ fresh: true });
    if (isOn(current) === wanted) {
      return `Dynamic Client Registration was already ${onOff(wanted)} in ${request.tenant}; nothing was changed.`;
    }
    if (options.dryRun) {
      return `Dry run: would send PATCH /api/v2/tenants/settings with {"flags":{"${FLAG}":${wanted}}}; nothing was changed.`;
    }
    await api.setTenantFlags({ [FLAG]: wanted });
    return `Dynamic Client Registration is now ${onOff(wanted)} in ${request.tenant}.`;
  },

  async isApplied(api: ManagementApi, request: ChangeRequest): Promise<boolean> {
    return isOn(await api.getTenantSettings({ fresh: true })) === isEnable(request.action);
  },

  words: WORDS,

  stateLine(target: ChangeTarget): string {
    return `Dynamic Client Registration is *${onOff(target.facts.wasEnabled === "1")}* in ${code(target.name)}.`;
  },

  label(): string {
    return "Dynamic Client Registration";
  },

  facts(request: ChangeRequest): TargetFact[] {
    return [
      {
        label: "DCR when asked",
        value: request.target.facts.wasEnabled === "1" ? "On" : "Off",
        style: "text",
      },
    ];
  },

  warnings(request: ChangeRequest): string[] {
    if (!isEnable(request.action)) {
      return [
        ":warning: Promoted connections will *no longer reach third-party applications* once DCR is off.",
      ];
    }
    return [
      ":warning: With DCR on, *anyone* who can reach the tenant's registration endpoint can register an application; promoted connections become usable by those applications.",
    ];
  },
};
