<?php
// A shop's calls to the merchant kit, in plain PHP 8 with the curl extension (php-curl): no library.
//
//   php shop.php create 62.73               prints the order's reference and its checkout_url
//   php shop.php read <reference>           the return page's check: the order's status, from the API
//   php shop.php refund <reference> [amount]
//
// Settings: MERCHANT_API_URL (the stack's ApiUrl output), and how the shop proves who it is:
// MERCHANT_KIT_KEY (a shop key, mk_test_... or mk_live_..., sent as "Authorization: Bearer"), or else AWS SigV4 with
// AWS_REGION, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN with temporary credentials).
declare(strict_types=1);

function api_url(): string
{
    return rtrim(getenv('MERCHANT_API_URL') ?: 'http://127.0.0.1:3000', '/');
}

// One merchant API call. Its answer decoded, or an exception saying the status and the body: the kit's
// {"error": {"message", "field"}} (the field to correct), or API Gateway's {"message"} (401, 403: the credentials).
function merchant_api(string $method, string $path, ?array $body = null, array $headers = []): array
{
    $url = api_url() . $path;
    $data = $body === null ? '' : json_encode($body, JSON_THROW_ON_ERROR | JSON_FORCE_OBJECT);
    $headers = ['Content-Type' => 'application/json'] + $headers;
    $key = getenv('MERCHANT_KIT_KEY');
    $headers += $key ? ['Authorization' => "Bearer $key"] : sigv4_headers($method, $url, $data);
    $curl = curl_init($url);
    curl_setopt_array($curl, [
        CURLOPT_CUSTOMREQUEST => $method,
        CURLOPT_RETURNTRANSFER => true,
        CURLOPT_TIMEOUT => 30,
        CURLOPT_HTTPHEADER => array_map(fn ($name, $value) => "$name: $value", array_keys($headers), $headers),
    ]);
    if ($body !== null) {
        curl_setopt($curl, CURLOPT_POSTFIELDS, $data);
    }
    $answer = curl_exec($curl);
    $status = curl_getinfo($curl, CURLINFO_RESPONSE_CODE);
    if ($answer === false) {
        throw new RuntimeException('the merchant API did not answer: ' . curl_error($curl));
    }
    if ($status >= 300) {
        throw new RuntimeException("$status $answer");
    }
    return json_decode($answer, true, 512, JSON_THROW_ON_ERROR);
}

// AWS Signature Version 4 for API Gateway (service execute-api): the headers that sign the request.
function sigv4_headers(string $method, string $url, string $body): array
{
    $keyId = getenv('AWS_ACCESS_KEY_ID');
    $secret = getenv('AWS_SECRET_ACCESS_KEY');
    if (!$keyId || !$secret) {
        throw new RuntimeException('no credentials: set MERCHANT_KIT_KEY, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY');
    }
    $region = getenv('AWS_REGION') ?: 'eu-west-3';
    $parts = parse_url($url);
    $amzDate = gmdate('Ymd\THis\Z');
    $day = substr($amzDate, 0, 8);
    $signed = ['host' => $parts['host'] . (isset($parts['port']) ? ':' . $parts['port'] : ''), 'x-amz-date' => $amzDate];
    if (getenv('AWS_SESSION_TOKEN')) {
        $signed['x-amz-security-token'] = getenv('AWS_SESSION_TOKEN');
    }
    ksort($signed);
    $names = implode(';', array_keys($signed));
    $canonicalHeaders = implode('', array_map(fn ($name, $value) => "$name:$value\n", array_keys($signed), $signed));
    $path = implode('/', array_map(fn ($part) => rawurlencode(rawurldecode($part)), explode('/', $parts['path'] ?? '/')));
    $canonical = implode("\n", [$method, $path, '', $canonicalHeaders, $names, hash('sha256', $body)]);
    $scope = "$day/$region/execute-api/aws4_request";
    $toSign = implode("\n", ['AWS4-HMAC-SHA256', $amzDate, $scope, hash('sha256', $canonical)]);
    $key = hash_hmac('sha256', $day, "AWS4$secret", true);
    foreach ([$region, 'execute-api', 'aws4_request'] as $part) {
        $key = hash_hmac('sha256', $part, $key, true);
    }
    $signature = hash_hmac('sha256', $toSign, $key);
    unset($signed['host']); // curl sends it, to the same value
    return $signed + ['Authorization' => "AWS4-HMAC-SHA256 Credential=$keyId/$scope, SignedHeaders=$names, Signature=$signature"];
}

// On a web page: keep the order's reference with the basket, then
// header('Location: ' . $order['checkout_url'], true, 303); exit;
function create_order(string $amount): array
{
    return merchant_api('POST', '/orders', [
        'amount' => $amount,
        'currency' => 'EUR',
        'email' => 'buyer@example.com',
        'billing' => ['addressLine1' => '1 rue de la Paix', 'city' => 'Paris', 'postalCode' => '75002', 'country' => 'FR'],
    ]);
}

function refund_order(string $reference, ?string $amount = null): array
{
    // One Idempotency-Key per refund: sent again with the same key, a retry is never refunded twice.
    $key = ['Idempotency-Key' => bin2hex(random_bytes(16))];
    return merchant_api('POST', '/orders/' . rawurlencode($reference) . '/refund', $amount ? ['amount' => $amount] : [], $key);
}

if (PHP_SAPI === 'cli' && realpath($argv[0]) === __FILE__) {
    try {
        $order = match ($argv[1] ?? '') {
            'create' => create_order($argv[2]),
            // The return page reads the order from the API: never trust the return URL alone.
            'read' => merchant_api('GET', '/orders/' . rawurlencode($argv[2])),
            'refund' => refund_order($argv[2], $argv[3] ?? null),
            default => throw new InvalidArgumentException('usage: php shop.php create|read|refund ...'),
        };
    } catch (Exception $error) {
        fwrite(STDERR, $error->getMessage() . "\n");
        exit(1);
    }
    echo ($argv[1] === 'create')
        ? "{$order['reference']} {$order['checkout_url']}\n"
        : "{$order['reference']} {$order['status']} refunded {$order['refunded']}\n";
}
