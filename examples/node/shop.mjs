// A shop's calls to the merchant kit, in Node.js 18+ (fetch, node:crypto, node:http; no package to install),
// signed with AWS SigV4.
//
//   node shop.mjs create 62.73               prints the order's reference and its checkout_url
//   node shop.mjs read <reference>           the return page's check: the order's status, from the API
//   node shop.mjs refund <reference> [amount]
//   node shop.mjs webhook 4242 <directory>   the order events' receiver, on 127.0.0.1:4242
//
// Settings: MERCHANT_API_URL (the stack's ApiUrl output), AWS_REGION, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY
// (and AWS_SESSION_TOKEN with temporary credentials); SHOP_WEBHOOK_TOKEN for the receiver.
import { createHash, createHmac, randomUUID, timingSafeEqual } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import { join } from "node:path";

const API_URL = (process.env.MERCHANT_API_URL ?? "http://127.0.0.1:3000").replace(/\/$/, "");
const REGION = process.env.AWS_REGION ?? "eu-west-3";

const sha256 = (data) => createHash("sha256").update(data).digest("hex");
const hmac = (key, data) => createHmac("sha256", key).update(data).digest();

// AWS Signature Version 4 for API Gateway (service execute-api): the headers to send with the request.
function sign(method, url, body) {
  const { AWS_ACCESS_KEY_ID: keyId, AWS_SECRET_ACCESS_KEY: secret, AWS_SESSION_TOKEN: token } = process.env;
  if (!keyId || !secret) throw new Error("no AWS credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY");
  const amzDate = new Date().toISOString().replace(/[-:]|\.\d{3}/g, ""); // 20261127T091502Z
  const day = amzDate.slice(0, 8);
  const headers = { host: url.host, "x-amz-date": amzDate, ...(token ? { "x-amz-security-token": token } : {}) };
  const names = Object.keys(headers).sort();
  const path = url.pathname.split("/").map((part) => encodeURIComponent(decodeURIComponent(part))).join("/");
  const canonical = [method, path, "", ...names.map((name) => `${name}:${headers[name]}`), "", names.join(";"),
    sha256(body)].join("\n");
  const scope = `${day}/${REGION}/execute-api/aws4_request`;
  const toSign = ["AWS4-HMAC-SHA256", amzDate, scope, sha256(canonical)].join("\n");
  let key = hmac(`AWS4${secret}`, day);
  for (const part of [REGION, "execute-api", "aws4_request"]) key = hmac(key, part);
  const signature = createHmac("sha256", key).update(toSign).digest("hex");
  const authorization = `AWS4-HMAC-SHA256 Credential=${keyId}/${scope}, SignedHeaders=${names.join(";")}, Signature=${signature}`;
  return { ...headers, authorization };
}

// One merchant API call; an error answer ends the program with its status and body: the kit's
// {"error": {"message", "field"}} (the field to correct), or API Gateway's {"message"} (403: the signature).
async function call(method, path, body, extraHeaders = {}) {
  const url = new URL(API_URL + path);
  const data = body === undefined ? "" : JSON.stringify(body);
  const headers = { "content-type": "application/json", ...extraHeaders, ...sign(method, url, data) };
  delete headers.host; // fetch sets it, to the same value
  const answer = await fetch(url, { method, headers, body: body === undefined ? undefined : data });
  const text = await answer.text();
  if (!answer.ok) {
    console.error(`${answer.status} ${text}`);
    process.exit(1);
  }
  return JSON.parse(text);
}

async function create(amount) {
  const order = await call("POST", "/orders", {
    amount, currency: "EUR", email: "buyer@example.com",
    billing: { addressLine1: "1 rue de la Paix", city: "Paris", postalCode: "75002", country: "FR" },
  });
  // Keep order.reference with the basket, then redirect the buyer: a 303 to order.checkout_url.
  console.log(order.reference, order.checkout_url);
}

async function read(reference) {
  const order = await call("GET", `/orders/${reference}`); // the return page trusts this, never the URL alone
  console.log(order.reference, order.status, "refunded", order.refunded);
}

async function refund(reference, amount) {
  // One Idempotency-Key per refund: sent again with the same key, a retry is never refunded twice.
  const order = await call("POST", `/orders/${reference}/refund`, amount ? { amount } : {},
    { "idempotency-key": randomUUID() });
  console.log(order.reference, order.status, "refunded", order.refunded);
}

// The order events: the shop token checked, each event_id kept once (a file named by its hash), 2xx.
function webhook(port, directory) {
  mkdirSync(directory, { recursive: true });
  const expected = Buffer.from(process.env.SHOP_WEBHOOK_TOKEN ?? "");
  createServer((request, response) => {
    const chunks = [];
    request.on("data", (chunk) => chunks.push(chunk));
    request.on("end", () => {
      const given = Buffer.from(request.headers["x-merchant-kit-token"] ?? "");
      if (!expected.length || given.length !== expected.length || !timingSafeEqual(given, expected)) {
        return response.writeHead(401).end();
      }
      const body = Buffer.concat(chunks);
      let event;
      try {
        event = JSON.parse(body);
        if (typeof event.detail.event_id !== "string" || !event.detail.reference) throw new Error("not an order event");
      } catch {
        return response.writeHead(400).end();
      }
      const { event_id: eventId, reference } = event.detail;
      try {
        // flag "wx": exclusive, so a second delivery of the event finds it there
        writeFileSync(join(directory, `${sha256(eventId)}.json`), body, { flag: "wx" });
      } catch (error) {
        if (error.code !== "EEXIST") return response.writeHead(500).end(); // not kept: the kit sends it again
        console.log("duplicate", eventId);
        return response.writeHead(204).end();
      }
      console.log("received", event["detail-type"], reference, eventId); // act here: OrderPaid ships the basket
      response.writeHead(204).end();
    });
  }).listen(Number(port), "127.0.0.1", () => console.log(`listening on http://127.0.0.1:${port}/`));
}

const commands = { create, read, refund, webhook };
const [command, ...args] = process.argv.slice(2);
if (!commands[command]) {
  console.error(`usage: shop.mjs ${Object.keys(commands).join("|")} ...`);
  process.exit(2);
}
await commands[command](...args);
