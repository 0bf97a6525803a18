// The peer of bench/http: PostGraphile v5 over Trellis's database, connected as the same non-owner role
// (trellis_app, so the same row-level security policies apply), with the settings Trellis sets per
// request (app.tenant_id, app.user_id) taken from the same Ed25519-signed access token, verified here
// with jose, as the PostGraphile JWT guide describes. One process per core (node:cluster), sharing the
// same total number of database connections as Trellis's pool.
//
// Environment: PEER_PORT, PEER_DATABASE_URL (the app role), PEER_JWT_KEY_FILE (Trellis's `kid:seed`
// key file), PEER_ISSUER, PEER_POOL (total connections, default 20), PEER_WORKERS (default: cores).
import cluster from "node:cluster";
import { createPrivateKey, createPublicKey } from "node:crypto";
import { readFileSync } from "node:fs";
import { createServer } from "node:http";
import { availableParallelism } from "node:os";
import { jwtVerify } from "jose";
import { postgraphile } from "postgraphile";
import { makePgService } from "postgraphile/adaptors/pg";
import { grafserv } from "postgraphile/grafserv/node";
import { PostGraphileAmberPreset } from "postgraphile/presets/amber";

const workers = Number(process.env.PEER_WORKERS || availableParallelism());
const poolTotal = Number(process.env.PEER_POOL || 20);

if (cluster.isPrimary) {
  for (let i = 0; i < workers; i++) cluster.fork();
  cluster.on("exit", (worker, code) => {
    console.error(`worker ${worker.process.pid} exited with ${code}`);
    process.exit(1);
  });
} else {
  // Trellis's key file: `kid:base64url(32-byte Ed25519 seed)`, the first key signs.
  const [kid, seed] = readFileSync(process.env.PEER_JWT_KEY_FILE, "utf8").trim().split(",")[0].split(":");
  const pkcs8 = Buffer.concat([
    Buffer.from("302e020100300506032b657004220420", "hex"),
    Buffer.from(seed, "base64url"),
  ]);
  const publicKey = createPublicKey(createPrivateKey({ key: pkcs8, format: "der", type: "pkcs8" }));

  const preset = {
    extends: [PostGraphileAmberPreset],
    pgServices: [
      makePgService({
        connectionString: process.env.PEER_DATABASE_URL,
        schemas: ["public"],
        // The total split exactly: the first (poolTotal % workers) workers get one more.
        poolConfig: {
          max: Math.floor(poolTotal / workers) + (cluster.worker.id <= poolTotal % workers ? 1 : 0),
        },
      }),
    ],
    grafserv: { port: Number(process.env.PEER_PORT), graphiql: false, watch: false },
    grafast: {
      explain: false,
      async context(requestContext) {
        const header = requestContext.node?.req?.headers?.authorization ?? "";
        const token = header.startsWith("Bearer ") ? header.slice(7) : null;
        if (!token) return { pgSettings: {} };
        const { payload, protectedHeader } = await jwtVerify(token, publicKey, {
          algorithms: ["EdDSA"],
          issuer: process.env.PEER_ISSUER,
        });
        if (protectedHeader.kid !== kid) throw new Error("unknown key");
        return { pgSettings: { "app.tenant_id": payload.tid, "app.user_id": payload.sub } };
      },
    },
  };
  const pgl = postgraphile(preset);
  const serv = pgl.createServ(grafserv);
  const server = createServer();
  server.keepAliveTimeout = 60_000;
  serv.addTo(server).then(
    () => server.listen(Number(process.env.PEER_PORT), "127.0.0.1"),
    (error) => {
      console.error(error);
      process.exit(1);
    },
  );
}
