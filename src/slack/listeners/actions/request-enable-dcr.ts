import { tenantDcr } from "../../../requests/changes/tenant-dcr.js";
import type { BotDeps } from "../../deps.js";
import { requestChange } from "../commands/change.js";
import { fileFromRequestButton } from "./file-from-request.js";

/**
 * "Also request enabling DCR", on a promotion in a tenant whose DCR is off: files the request to
 * turn it on, on behalf of whoever clicks, through the same policy and approval as the command
 * `enable-dcr <tenant>`.
 */
export function requestEnableDcr(deps: BotDeps) {
  return fileFromRequestButton(deps, {
    handler: "request-enable-dcr",
    failedTo: "request enabling DCR for",
    file: (source, ctx) =>
      requestChange(ctx, tenantDcr, "enable-dcr", {
        tenant: source.tenant,
        target: { kind: "id", id: source.tenant },
        reason: `So that ${source.target.name} reaches third-party applications once promoted (asked with ${source.id}).`,
      }),
  });
}
