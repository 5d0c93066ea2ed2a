import type { PromotionRequest } from "./model.js";

export interface ApproverPolicyOptions {
  userIds: readonly string[];
  usergroupId: string | undefined;
  /** Members of a Slack user group; the Slack layer supplies it (usergroups.users.list). */
  groupMembers: (usergroupId: string) => Promise<readonly string[]>;
  /** How long a fetched member list is trusted. Short: removing an approver must take effect. */
  groupCacheMs?: number;
  now?: () => number;
}

export type Decision = { allowed: true } | { allowed: false; why: string };

/**
 * Who may decide on a request. Asked on the server at every click: buttons are visible to the
 * whole channel, so hiding them would protect nothing.
 */
export class ApproverPolicy {
  private cached: { members: Set<string>; at: number } | undefined;
  private inFlight: Promise<Set<string>> | undefined;

  constructor(private readonly options: ApproverPolicyOptions) {}

  /** Can this user decide on this request? The requester never decides on their own. */
  async mayDecide(
    userId: string,
    request: Pick<PromotionRequest, "requesterId">,
  ): Promise<Decision> {
    if (userId === request.requesterId) {
      return { allowed: false, why: "you made this request, so someone else has to decide on it" };
    }
    if (await this.isApprover(userId)) return { allowed: true };
    return { allowed: false, why: "you are not one of the approvers for connection promotions" };
  }

  async isApprover(userId: string): Promise<boolean> {
    if (this.options.userIds.includes(userId)) return true;
    const group = this.options.usergroupId;
    if (!group) return false;
    return (await this.members(group)).has(userId);
  }

  /** Describes the approvers for the requester ("<@U1>, <@U2> or members of <!subteam^S1>"). */
  describeApprovers(): string {
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
