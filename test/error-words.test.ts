import { expect, it } from "vitest";
import { ManagementApiError } from "../src/auth0/index.js";
import { errorInWords } from "../src/error-words.js";

it("an Auth0 error is shown in its words for people, not its log message", () => {
  const err = new ManagementApiError({
    status: 404,
    method: "GET",
    path: "/api/v2/connections/con_Nope000000000001",
    errorCode: "inexistent_connection",
  });
  expect(err.message).toBe(
    "Auth0 GET /api/v2/connections/con_Nope000000000001 answered 404 inexistent_connection",
  );
  expect(errorInWords(err)).toBe(
    "no connection with id con_Nope000000000001 exists in this tenant",
  );
});

it("any other error is shown by its message, and a credential in it never reaches the words", () => {
  const err = new Error(
    "Slack refused xoxb-1-2-abc; the token endpoint said client_secret=hunter2",
  );
  const words = errorInWords(err);
  expect(words).toBe("Slack refused [REDACTED]; the token endpoint said client_secret=[REDACTED]");
  expect(errorInWords({ userMessage: "", message: "Bearer abc.def" })).toBe("[REDACTED]");
  expect(errorInWords("a plain string")).toBe("a plain string");
  expect(errorInWords(undefined)).toBe("undefined");
});
