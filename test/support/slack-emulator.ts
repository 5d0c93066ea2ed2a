export * from "../../src/dev/emulators/slack/index.js";
