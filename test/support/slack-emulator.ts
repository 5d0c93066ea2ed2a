export * from "../../src/emulators/slack.js";
