import type { Connection } from "../../auth0/management.js";
import { isConnectionId, isConnectionName } from "../../auth0/validate.js";
import type { ChangeAction, ChangeRequest, ChangeTarget } from "../model.js";
import { code, shown } from "../words.js";
import { readApps, thirdPartyImpact } from "./third-party-impact.js";
import type { ActionWords, ChangeKind, ManagementApi, TargetFact, TargetRef } from "./types.js";

/**
 * Promote a connection to domain level (`is_domain_connection: true`), or demote it. A
 * domain-level connection is usable by every application in the tenant, third-party ones
 * included, provided the tenant's Dynamic Client Registration is on.
 */

/** The facts recorded with a request of this kind. */
interface ConnectionFacts {
  displayName: string | undefined;
  strategy: string;
  wasDomainConnection: boolean;
  /** The tenant's Dynamic Client Registration flag when the request was made. */
  dcr: "on" | "off" | "unknown";
}

function factsOf(target: ChangeTarget): ConnectionFacts {
  const f = target.facts;
  return {
    displayName: f.displayName,
    strategy: f.strategy ?? "",
    wasDomainConnection: f.wasDomainConnection === "1",
    dcr: f.dcr === "on" || f.dcr === "off" ? f.dcr : "unknown",
  };
}

function toTarget(connection: Connection): ChangeTarget {
  const facts: Record<string, string> = {
    strategy: connection.strategy,
    wasDomainConnection: connection.is_domain_connection ? "1" : "0",
  };
  if (connection.display_name !== undefined) facts.displayName = connection.display_name;
  return { id: connection.id, name: connection.name, facts };
}

const isPromote = (action: ChangeAction) => action === "promote";

const WORDS: Partial<Record<ChangeAction, ActionWords>> = {
  promote: {
    verb: "promote",
    does: "promote a connection to domain level",
    doing: "promoting",
    noun: "Promotion",
    title: "Promote a connection to domain level",
    done: "Promoted to domain level",
    effect:
      "It will then be usable by *every application in the tenant*, third-party ones included.",
    confirmTitle: "Promote this connection?",
    confirmText: (r) =>
      `${r.target.name} will become usable by every application in the tenant, third-party ones included.${r.dryRun ? " (Dry run: nothing will change.)" : ""}`,
  },
  demote: {
    verb: "demote",
    does: "make it no longer domain-level",
    doing: "demoting",
    noun: "Demotion",
    title: "Demote a connection from domain level",
    done: "Demoted: no longer domain-level",
    effect:
      "Applications that are not explicitly enabled for it, third-party ones included, will *lose access* to it.",
    confirmTitle: "Demote this connection?",
    confirmText: (r) =>
      `${r.target.name} will no longer be a domain-level connection.${r.dryRun ? " (Dry run: nothing will change.)" : ""}`,
  },
};

function changedWords(connection: Connection, target: boolean): string {
  const kept = connection.display_name ? ` (display name "${connection.display_name}" kept)` : "";
  return `${connection.name} is ${target ? "now" : "no longer"} a domain-level connection${kept}.`;
}

function dryRunWords(connection: Connection, target: boolean): string {
  if (connection.is_domain_connection === target) {
    return `Dry run: ${connection.name} is already ${target ? "" : "not "}domain-level; nothing would change.`;
  }
  return `Dry run: would send PATCH /api/v2/connections/${connection.id} with is_domain_connection ${target} and display_name "${connection.display_name ?? connection.name}"; nothing was changed.`;
}

export const connectionDomainLevel: ChangeKind = {
  name: "connection-domain-level",
  actions: ["promote", "demote"],
  opposites: { promote: "demote", demote: "promote" },
  scopes: {
    lookUp: ["read:connections", "read:tenant_settings"],
    apply: ["read:connections", "update:connections"],
  },
  targetNoun: "connection",
  targetUsage: "<con_id | name>",

  parseTarget(word: string): TargetRef | { invalid: string } {
    if (/^con_/i.test(word)) {
      if (isConnectionId(word)) return { kind: "id", id: word };
      return {
        invalid: `${shown(word)} is not a valid connection id: ids look like \`con_\` followed by 16 letters and digits.`,
      };
    }
    if (isConnectionName(word)) return { kind: "name", name: word };
    return {
      invalid: `${shown(word)} is neither a connection id (\`con_…\`) nor a connection name (letters, digits and dashes).`,
    };
  },

  async lookUp(api: ManagementApi, ref: TargetRef): Promise<ChangeTarget | undefined> {
    const connection =
      ref.kind === "id"
        ? await api.getConnection(ref.id)
        : await api.findConnectionByName(ref.name);
    return connection && toTarget(connection);
  },

  noOp(target: ChangeTarget, action: ChangeAction): string | undefined {
    const wanted = isPromote(action);
    if (factsOf(target).wasDomainConnection !== wanted) return undefined;
    return `${code(target.name)} (${code(target.id)}) is ${wanted ? "already" : "not"} a domain-level connection: there is nothing to approve.`;
  },

  async context(api, _target, _action, onError): Promise<Record<string, string>> {
    const dcr = async (): Promise<Record<string, string>> => {
      try {
        const settings = await api.getTenantSettings();
        return { dcr: settings.flags?.enable_dynamic_client_registration === true ? "on" : "off" };
      } catch (err) {
        onError(err, "the tenant's settings");
        return { dcr: "unknown" };
      }
    };
    const [settings, apps] = await Promise.all([dcr(), readApps(api, onError)]);
    return { ...settings, ...apps };
  },

  async apply(api: ManagementApi, request: ChangeRequest, options: { dryRun: boolean }) {
    const wanted = isPromote(request.action);
    const current = await api.getConnection(request.target.id);
    if (options.dryRun) return dryRunWords(current, wanted);
    const after =
      current.is_domain_connection === wanted ? current : await api.setDomainLevel(current, wanted);
    return changedWords(after, wanted);
  },

  async isApplied(api: ManagementApi, request: ChangeRequest): Promise<boolean> {
    const current = await api.getConnection(request.target.id);
    return current.is_domain_connection === isPromote(request.action);
  },

  words: WORDS,

  stateLine(target: ChangeTarget): string {
    const facts = factsOf(target);
    return `${code(target.name)} (${code(target.id)}, ${code(facts.strategy)}) is ${facts.wasDomainConnection ? "*a domain-level connection*" : "*not* domain-level"}.`;
  },

  facts(request: ChangeRequest): TargetFact[] {
    const facts = factsOf(request.target);
    return [
      { label: "Connection", value: request.target.name, style: "code" },
      { label: "ID", value: request.target.id, style: "code" },
      { label: "Strategy", value: facts.strategy, style: "code" },
      {
        label: "Domain-level when asked",
        value: facts.wasDomainConnection ? "Yes" : "No",
        style: "text",
      },
      { label: "Display name", value: facts.displayName ?? "(none)", style: "plain" },
    ];
  },

  warnings(request: ChangeRequest): string[] {
    const { dcr } = factsOf(request.target);
    if (dcr === "on" || request.action === "demote") return [];
    return [
      dcr === "off"
        ? ":warning: *Dynamic Client Registration is off* in this tenant: promoting this connection will not make it available to third-party (dynamically registered) applications."
        : ":warning: *Could not read the tenant's Dynamic Client Registration setting* (the Auth0 application may lack `read:tenant_settings`): check whether promotion will reach third-party applications.",
    ];
  },

  impact(request: ChangeRequest) {
    return thirdPartyImpact(request.target.facts, isPromote(request.action));
  },
};
