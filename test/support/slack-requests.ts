export * from "../../src/dev/emulators/slack-requests.js";
