export * from "../../src/emulators/slack-requests.js";
