export * from "../../src/dev/emulators/auth0/index.js";
