import { afterAll, afterEach, describe, expect, it } from "vitest";
import { keyDirectory, rsaKeyPair } from "./support/private-keys.js";
import { ACME, APPROVER, ask, type Stack, startStack, waitForAudit } from "./support/stack.js";

const keys = keyDirectory();
afterAll(() => keys.remove());

let stack: Stack | undefined;
afterEach(async () => {
  await stack?.stop();
  stack = undefined;
});

describe("the bot with AUTH0_PRIVATE_KEY_FILE instead of a client secret", () => {
  it("a requester asks, an approver approves, the connection is promoted; Auth0 never sees a secret", async () => {
    const pair = rsaKeyPair();
    const keyFile = keys.write("bot.pem", pair.pem);
    stack = await startStack({
      auth0: { privateKeyJwt: { publicKey: pair.publicKey, alg: "PS256", keyId: "kid-bot" } },
      env: {
        AUTH0_CLIENT_SECRET: "",
        AUTH0_PRIVATE_KEY_FILE: keyFile,
        AUTH0_PRIVATE_KEY_ID: "kid-bot",
        AUTH0_CLIENT_ASSERTION_ALG: "PS256",
      },
    });
    const { auth0 } = stack;

    const requestId = await ask(stack, `${ACME.id} "onboarding Acme"`);
    await stack.click(APPROVER, "approve_request", requestId);
    await waitForAudit(stack, "promoted", requestId);

    expect(auth0.connection(ACME.id)?.is_domain_connection).toBe(true);
    expect(auth0.apiRequests("PATCH")).toHaveLength(1);
    const tokenRequests = auth0.requests.filter((r) => r.path === "/oauth/token");
    expect(tokenRequests.length).toBeGreaterThan(0);
    expect(auth0.tokensIssued).toBe(tokenRequests.length);
    const assertions = tokenRequests.map((r) => {
      const body = r.body as Record<string, string>;
      expect(body.client_secret).toBeUndefined();
      expect(body.client_assertion_type).toBe(
        "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
      );
      return body.client_assertion as string;
    });

    // Neither the key nor an assertion (nor its signature) reaches a log line.
    const logs = stack.logs.join("\n");
    expect(logs).toContain(requestId);
    expect(logs).not.toContain(pair.fingerprint);
    expect(logs).not.toContain("PRIVATE KEY");
    for (const assertion of assertions) {
      expect(logs).not.toContain(assertion);
      expect(logs).not.toContain(assertion.split(".")[2]);
    }
  });
});
