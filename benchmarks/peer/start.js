// Starts the npm peer emulator on 127.0.0.1 (its own start() binds 0.0.0.0) and prints
// "ready <port>" once it accepts connections. Port from argv[2]; 0 picks a free one.
"use strict";
const { ServerCredentials } = require("@grpc/grpc-js");
const { FirestoreServer } = require("@firestore-emulator/server");

const emulator = new FirestoreServer();
const requested = Number(process.argv[2] || 0);
emulator.server.bindAsync(`127.0.0.1:${requested}`, ServerCredentials.createInsecure(), (err, port) => {
  if (err) {
    console.error(err);
    process.exit(1);
  }
  console.log(`ready ${port}`);
});
const stop = () => {
  emulator.stop();
  process.exit(0);
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
