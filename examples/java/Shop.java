// A shop's calls to the merchant kit, in Java 17 (java.net.http.HttpClient, javax.crypto; no library), signed
// with AWS SigV4. One file, run by the JDK's source launcher:
//
//   java Shop.java create 62.73               prints the order's reference and its checkout_url
//   java Shop.java read <reference>           the return page's check: the order's status, from the API
//   java Shop.java refund <reference> [amount]
//   java Shop.java webhook 4242 <directory>   the order events' receiver, on 127.0.0.1:4242
//
// Settings: MERCHANT_API_URL (the stack's ApiUrl output), AWS_REGION, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY
// (and AWS_SESSION_TOKEN with temporary credentials); SHOP_WEBHOOK_TOKEN for the receiver.
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.HexFormat;
import java.util.Map;
import java.util.TreeMap;
import java.util.UUID;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

public class Shop {
    static final String API_URL = System.getenv().getOrDefault("MERCHANT_API_URL", "http://127.0.0.1:3000")
            .replaceAll("/$", "");
    static final String REGION = System.getenv().getOrDefault("AWS_REGION", "eu-west-3");

    public static void main(String[] args) throws Exception {
        switch (args.length > 0 ? args[0] : "") {
            case "create" -> {
                String order = call("POST", "/orders", "{\"amount\": \"" + args[1] + "\", \"currency\": \"EUR\", "
                        + "\"email\": \"buyer@example.com\", \"billing\": {\"addressLine1\": \"1 rue de la Paix\", "
                        + "\"city\": \"Paris\", \"postalCode\": \"75002\", \"country\": \"FR\"}}", Map.of());
                // Keep the reference with the basket, then redirect the buyer: a 303 to its checkout_url.
                System.out.println(field(order, "reference") + " " + field(order, "checkout_url"));
            }
            case "read" -> printOrder(call("GET", "/orders/" + args[1], null, Map.of())); // never trust the URL alone
            case "refund" -> {
                String body = args.length > 2 ? "{\"amount\": \"" + args[2] + "\"}" : "{}";
                // One Idempotency-Key per refund: sent again with the same key, a retry is never refunded twice.
                Map<String, String> key = Map.of("Idempotency-Key", UUID.randomUUID().toString());
                printOrder(call("POST", "/orders/" + args[1] + "/refund", body, key));
            }
            case "webhook" -> webhook(Integer.parseInt(args[1]), Path.of(args[2]));
            default -> {
                System.err.println("usage: java Shop.java create|read|refund|webhook ...");
                System.exit(2);
            }
        }
    }

    static void printOrder(String order) {
        System.out.println(field(order, "reference") + " " + field(order, "status") + " refunded "
                + field(order, "refunded"));
    }

    // One merchant API call, signed; an error answer ends the program with its status and body: the kit's
    // {"error": {"message", "field"}} (the field to correct), or API Gateway's {"message"} (403: the signature).
    static String call(String method, String path, String body, Map<String, String> extra) throws Exception {
        URI uri = URI.create(API_URL + path);
        String data = body == null ? "" : body;
        HttpRequest.Builder request = HttpRequest.newBuilder(uri)
                .method(method, body == null ? HttpRequest.BodyPublishers.noBody()
                        : HttpRequest.BodyPublishers.ofString(data))
                .header("Content-Type", "application/json");
        extra.forEach(request::header);
        sign(method, uri, data).forEach((name, value) -> {
            if (!name.equals("host")) request.header(name, value); // HttpClient sets Host, to the same value
        });
        HttpResponse<String> answer = HttpClient.newHttpClient().send(request.build(),
                HttpResponse.BodyHandlers.ofString());
        if (answer.statusCode() >= 300) {
            System.err.println(answer.statusCode() + " " + answer.body());
            System.exit(1);
        }
        return answer.body();
    }

    // AWS Signature Version 4 for API Gateway (service execute-api): the headers to send with the request.
    static Map<String, String> sign(String method, URI uri, String body) throws Exception {
        String keyId = System.getenv("AWS_ACCESS_KEY_ID"), secret = System.getenv("AWS_SECRET_ACCESS_KEY");
        if (keyId == null || secret == null) throw new IllegalStateException("no AWS credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY");
        String amzDate = ZonedDateTime.now(ZoneOffset.UTC).format(DateTimeFormatter.ofPattern("yyyyMMdd'T'HHmmss'Z'"));
        String day = amzDate.substring(0, 8);
        Map<String, String> headers = new TreeMap<>(); // sorted by name, as the canonical request wants them
        headers.put("host", uri.getPort() == -1 ? uri.getHost() : uri.getHost() + ":" + uri.getPort());
        headers.put("x-amz-date", amzDate);
        if (System.getenv("AWS_SESSION_TOKEN") != null) headers.put("x-amz-security-token", System.getenv("AWS_SESSION_TOKEN"));
        StringBuilder canonicalHeaders = new StringBuilder();
        headers.forEach((name, value) -> canonicalHeaders.append(name).append(':').append(value).append('\n'));
        String signedHeaders = String.join(";", headers.keySet());
        String canonical = String.join("\n", method, uri.getRawPath(), "", canonicalHeaders.toString(), signedHeaders,
                sha256(body));
        String scope = day + "/" + REGION + "/execute-api/aws4_request";
        String toSign = String.join("\n", "AWS4-HMAC-SHA256", amzDate, scope, sha256(canonical));
        byte[] key = hmac(("AWS4" + secret).getBytes(StandardCharsets.UTF_8), day);
        for (String part : new String[] {REGION, "execute-api", "aws4_request"}) key = hmac(key, part);
        String signature = HexFormat.of().formatHex(hmac(key, toSign));
        headers.put("Authorization", "AWS4-HMAC-SHA256 Credential=" + keyId + "/" + scope + ", SignedHeaders="
                + signedHeaders + ", Signature=" + signature);
        return headers;
    }

    static byte[] hmac(byte[] key, String data) throws Exception {
        Mac mac = Mac.getInstance("HmacSHA256");
        mac.init(new SecretKeySpec(key, "HmacSHA256"));
        return mac.doFinal(data.getBytes(StandardCharsets.UTF_8));
    }

    static String sha256(String data) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(data.getBytes(StandardCharsets.UTF_8)));
    }

    // A top-level string field of a JSON answer. A real shop uses its JSON library (Jackson, Gson).
    static String field(String json, String name) {
        Matcher found = Pattern.compile("\"" + name + "\"\\s*:\\s*\"((?:[^\"\\\\]|\\\\.)*)\"").matcher(json);
        return found.find() ? found.group(1) : null;
    }

    // The order events: the shop token checked, each event_id kept once (a file named by its hash), 2xx.
    static void webhook(int port, Path directory) throws Exception {
        Files.createDirectories(directory);
        byte[] expected = System.getenv().getOrDefault("SHOP_WEBHOOK_TOKEN", "").getBytes(StandardCharsets.UTF_8);
        HttpServer server = HttpServer.create(new InetSocketAddress("127.0.0.1", port), 0);
        server.createContext("/", exchange -> {
            try (exchange) {
                String given = exchange.getRequestHeaders().getFirst("X-Merchant-Kit-Token");
                byte[] token = given == null ? new byte[0] : given.getBytes(StandardCharsets.UTF_8);
                if (expected.length == 0 || !MessageDigest.isEqual(token, expected)) { // constant time
                    exchange.sendResponseHeaders(401, -1);
                    return;
                }
                byte[] body = exchange.getRequestBody().readAllBytes();
                String event = new String(body, StandardCharsets.UTF_8);
                String eventId = field(event, "event_id"), reference = field(event, "reference");
                if (eventId == null || reference == null) {
                    exchange.sendResponseHeaders(400, -1);
                    return;
                }
                try { // CREATE_NEW: a second delivery of the event finds it there
                    Files.write(directory.resolve(sha256(eventId) + ".json"), body, StandardOpenOption.CREATE_NEW);
                    System.out.println("received " + field(event, "detail-type") + " " + reference + " " + eventId);
                } catch (FileAlreadyExistsException duplicate) {
                    System.out.println("duplicate " + eventId);
                }
                exchange.sendResponseHeaders(204, -1);
            } catch (Exception error) {
                exchange.sendResponseHeaders(500, -1); // not kept: the kit sends it again
            }
        });
        server.start();
        System.out.println("listening on http://127.0.0.1:" + port + "/");
    }
}
