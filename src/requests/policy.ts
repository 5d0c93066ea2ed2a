import type { ChangeRequest } from "./model.js";

export interface PeopleOptions {
  userIds: readonly string[];
  usergroupId: string | undefined;
  /** Members of a Slack user group; the Slack layer supplies it (usergroups.users.list). */
  groupMembers: (usergroupId: string) => Promise<readonly string[]>;
  /** How long a fetched member list is trusted. Short: removing someone must take effect. */
  groupCacheMs?: number;
  now?: () => number;
}

/** A set of people named by user ids and/or one user group. */
export class People {
  private cached: { members: Set<string>; at: number } | undefined;
  private inFlight: Promise<Set<string>> | undefined;

  constructor(private readonly options: PeopleOptions) {}

  /** True when neither ids nor a group are configured. */
  get isEveryone(): boolean {
    return this.options.userIds.length === 0 && !this.options.usergroupId;
  }

  /**
   * Is this person one of them? `fresh` asks Slack for the group's members now rather than
   * trusting the short cache: for the worker's last check before a change.
   */
  async includes(userId: string, options: { fresh?: boolean } = {}): Promise<boolean> {
    if (this.options.userIds.includes(userId)) return true;
    const group = this.options.usergroupId;
    if (!group) return false;
    if (options.fresh) return (await this.options.groupMembers(group)).includes(userId);
    return (await this.members(group)).has(userId);
  }

  /** The user ids and the user group they were named by. */
  get named(): { userIds: readonly string[]; usergroupId: string | undefined } {
    return { userIds: this.options.userIds, usergroupId: this.options.usergroupId };
  }

  /** "<@U1>, <@U2> or members of <!subteam^S1>" */
  describe(): string {
    const parts = this.options.userIds.map((id) => `<@${id}>`);
    if (this.options.usergroupId) parts.push(`members of <!subteam^${this.options.usergroupId}>`);
    if (parts.length <= 1) return parts.join("");
    return `${parts.slice(0, -1).join(", ")} or ${parts[parts.length - 1]}`;
  }

  private async members(group: string): Promise<Set<string>> {
    const now = (this.options.now ?? Date.now)();
    const ttl = this.options.groupCacheMs ?? 30_000;
    if (this.cached && now - this.cached.at < ttl) return this.cached.members;
    // One lookup in flight however many clicks arrive together (Slack rate-limits this method).
    this.inFlight ??= this.options
      .groupMembers(group)
      .then((members) => {
        const set = new Set(members);
        this.cached = { members: set, at: (this.options.now ?? Date.now)() };
        return set;
      })
      .finally(() => {
        this.inFlight = undefined;
      });
    return this.inFlight;
  }
}

export type Decision = { allowed: true } | { allowed: false; why: string };

/**
 * Who may ask and who may decide. Asked on the server at every command and click: buttons are
 * visible to the whole channel, so hiding them would protect nothing.
 */
export class RequestPolicy {
  /**
   * @param approvers who may decide, per tenant (a production tenant may have stricter ones)
   * @param requesters who may ask, for every tenant
   */
  constructor(
    private readonly approvers: ReadonlyMap<string, People>,
    readonly requesters: People,
  ) {}

  private approversOf(tenant: string): People | undefined {
    return this.approvers.get(tenant);
  }

  /** Is this person an approver of `tenant`, or of any tenant when none is named? */
  async isApprover(userId: string, tenant?: string): Promise<boolean> {
    if (tenant !== undefined) return (await this.approversOf(tenant)?.includes(userId)) === true;
    for (const people of this.approvers.values()) {
      if (await people.includes(userId)) return true;
    }
    return false;
  }

  async mayRequest(userId: string): Promise<Decision> {
    if (this.requesters.isEveryone || (await this.requesters.includes(userId))) {
      return { allowed: true };
    }
    return {
      allowed: false,
      why: `only ${this.requesters.describe()} may ask for connection changes`,
    };
  }

  /**
   * May this person see requests at all (status, list, history, the App Home tab)? When
   * requesters are listed, only they and the approvers (of any tenant) may; otherwise anyone who
   * may ask.
   */
  async mayRead(userId: string): Promise<Decision> {
    if (this.requesters.isEveryone || (await this.requesters.includes(userId))) {
      return { allowed: true };
    }
    if (await this.isApprover(userId)) return { allowed: true };
    return {
      allowed: false,
      why: `only ${this.requesters.describe()} and the approvers may`,
    };
  }

  /**
   * May this person read what people wrote about a request: the requester's reason, an
   * approver's reason for denying it? Its requester and its tenant's approvers, who decide on it.
   */
  async maySeeReasons(
    userId: string,
    request: Pick<ChangeRequest, "requesterId" | "tenant">,
  ): Promise<boolean> {
    return userId === request.requesterId || (await this.isApprover(userId, request.tenant));
  }

  /** Can this user decide on this request? The requester never decides on their own. */
  async mayDecide(
    userId: string,
    request: Pick<ChangeRequest, "requesterId" | "tenant">,
  ): Promise<Decision> {
    if (userId === request.requesterId) {
      return { allowed: false, why: "you made this request, so someone else has to decide on it" };
    }
    if (await this.isApprover(userId, request.tenant)) return { allowed: true };
    return {
      allowed: false,
      why:
        this.approvers.size > 1
          ? `you are not one of the approvers for ${request.tenant}`
          : "you are not one of the approvers for connection changes",
    };
  }

  /** The pending requests among these that wait for this person's decision. */
  async waitingFor(userId: string, requests: readonly ChangeRequest[]): Promise<ChangeRequest[]> {
    const waiting: ChangeRequest[] = [];
    for (const r of requests) {
      if (r.state !== "PENDING" || r.requesterId === userId || r.approvals.includes(userId))
        continue;
      if (await this.isApprover(userId, r.tenant)) waiting.push(r);
    }
    return waiting;
  }

  /**
   * Who could still approve this pending request, to remind them: its tenant's approvers named
   * by id, less its requester and those who have approved it, and its tenant's approver group
   * (whose members are not listed). Empty when nobody could.
   */
  stillToApprove(request: Pick<ChangeRequest, "tenant" | "requesterId" | "approvals">): {
    userIds: string[];
    usergroupId: string | undefined;
  } {
    const named = this.approversOf(request.tenant)?.named;
    const done = new Set([request.requesterId, ...request.approvals]);
    return {
      userIds: (named?.userIds ?? []).filter((id) => !done.has(id)),
      usergroupId: named?.usergroupId,
    };
  }

  describeApprovers(tenant: string): string {
    return this.approversOf(tenant)?.describe() ?? "nobody (the tenant is not configured)";
  }

  /**
   * The worker's last check before it applies a change: enough distinct approvals, none of them
   * the requester's, and every approver still an approver of the request's tenant now (asked
   * fresh, not from a cache). Undefined when the approvals hold; else why not, in words.
   */
  async approvalsStillHold(
    request: Pick<ChangeRequest, "requesterId" | "approvals" | "requiredApprovals" | "tenant">,
  ): Promise<string | undefined> {
    const distinct = new Set(request.approvals);
    if (distinct.has(request.requesterId)) {
      return "the requester is among the approvers of their own request";
    }
    if (distinct.size < request.requiredApprovals) {
      return `it has ${distinct.size} approval(s) where ${request.requiredApprovals} are needed`;
    }
    const approvers = this.approversOf(request.tenant);
    if (!approvers) return `its tenant ${request.tenant} is no longer configured`;
    for (const approver of distinct) {
      if (!(await approvers.includes(approver, { fresh: true }))) {
        return `<@${approver}>, who approved it, is no longer an approver`;
      }
    }
    return undefined;
  }
}
