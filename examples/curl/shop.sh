#!/usr/bin/env bash
# A shop's calls to the merchant kit with curl, signed with curl's own AWS SigV4 (curl 7.75 or later), and jq.
#
#   shop.sh create 62.73               prints the order's reference and its checkout_url
#   shop.sh read <reference>           the order's status, from the API
#   shop.sh refund <reference> [amount]
#
# Settings: MERCHANT_API_URL (the stack's ApiUrl output), AWS_REGION, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY
# (and AWS_SESSION_TOKEN with temporary credentials).
set -euo pipefail

API_URL=${MERCHANT_API_URL:-http://127.0.0.1:3000}
API_URL=${API_URL%/}
REGION=${AWS_REGION:-eu-west-3}

# One merchant API call, signed for API Gateway (service execute-api). An error answer ends the script with its
# status and body: the kit's {"error": {"message", "field"}}, or API Gateway's {"message"} (403: the signature).
call() {
  local method=$1 path=$2 body=${3:-} answer status
  local args=(-sS -X "$method" --aws-sigv4 "aws:amz:$REGION:execute-api"
    --user "$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY" -H "Content-Type: application/json"
    -w '\n%{http_code}')
  [[ -n ${AWS_SESSION_TOKEN:-} ]] && args+=(-H "x-amz-security-token: $AWS_SESSION_TOKEN")
  [[ -n ${IDEMPOTENCY_KEY:-} ]] && args+=(-H "Idempotency-Key: $IDEMPOTENCY_KEY")
  [[ -n $body ]] && args+=(--data-binary "$body")
  answer=$(curl "${args[@]}" "$API_URL$path")
  status=${answer##*$'\n'}
  answer=${answer%$'\n'*}
  if (( status >= 300 )); then
    echo "$status $answer" >&2
    exit 1
  fi
  printf '%s' "$answer"
}

print_order() { jq -r '"\(.reference) \(.status) refunded \(.refunded)"'; }

case ${1:-} in
  create)
    body=$(jq -n --arg amount "$2" '{amount: $amount, currency: "EUR", email: "buyer@example.com",
      billing: {addressLine1: "1 rue de la Paix", city: "Paris", postalCode: "75002", country: "FR"}}')
    # Keep the reference with the basket, then send the buyer to checkout_url.
    call POST /orders "$body" | jq -r '"\(.reference) \(.checkout_url)"' ;;
  read)
    call GET "/orders/$2" | print_order ;;
  refund)
    body=$( [[ -n ${3:-} ]] && jq -n --arg amount "$3" '{amount: $amount}' || echo '{}')
    # One Idempotency-Key per refund: sent again with the same key, a retry is never refunded twice.
    IDEMPOTENCY_KEY=$(cat /proc/sys/kernel/random/uuid 2>/dev/null || uuidgen) call POST "/orders/$2/refund" "$body" | print_order ;;
  *)
    echo "usage: shop.sh create|read|refund ..." >&2
    exit 2 ;;
esac
