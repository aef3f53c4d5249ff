<?php
// The merchant kit's order events (its webhook), in plain PHP 8: the shop token checked in constant time, each
// event_id kept once, 2xx. Behind your web server, or locally:
//
//   SHOP_WEBHOOK_TOKEN=... WEBHOOK_EVENTS_DIR=webhook-events php -S 127.0.0.1:4242 webhook.php
declare(strict_types=1);

$token = getenv('SHOP_WEBHOOK_TOKEN') ?: '';
$given = $_SERVER['HTTP_X_MERCHANT_KIT_TOKEN'] ?? '';
if ($token === '' || !hash_equals($token, $given)) {
    http_response_code(401);
    exit;
}
$body = file_get_contents('php://input');
$event = json_decode($body, true);
$eventId = $event['detail']['event_id'] ?? null;
$reference = $event['detail']['reference'] ?? null;
if (!is_string($eventId) || !is_string($reference)) {
    http_response_code(400);
    exit;
}
// Kept once: a file named by the hash of event_id, created only if it is not there ('x'). Your shop writes to
// its database instead, event_id unique.
$directory = getenv('WEBHOOK_EVENTS_DIR') ?: 'webhook-events';
if (!is_dir($directory)) {
    mkdir($directory, 0o700, true);
}
$file = @fopen($directory . '/' . hash('sha256', $eventId) . '.json', 'x');
if ($file === false) {
    file_put_contents('php://stderr', "duplicate $eventId\n");
    http_response_code(204);
    exit;
}
fwrite($file, $body);
fclose($file);
// Act here: OrderPaid and OrderAuthorized ship the basket; PaymentRefused leaves the order payable.
file_put_contents('php://stderr', "received {$event['detail-type']} $reference $eventId\n");
http_response_code(204);
