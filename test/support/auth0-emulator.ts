export * from "../../src/emulators/auth0.js";
