# The development API key of this throwaway environment: only its SHA-256 reaches the stack (api_key_hashes);
# the key itself is an output so local clients (sluicectl, tests, benchmarks) can call the HTTP APIs. Kept out
# of outputs.tf, which re-exports exactly the stack's outputs.

variable "api_key" {
  description = "Development API key of this throwaway environment's HTTP APIs (only its SHA-256 reaches the stack). Real environments add keys with `sluicectl api-key add`."
  type        = string
  default     = "sluice-local-dev-key"
}

output "api_key" {
  description = "The development API key this throwaway environment accepts (send it as Authorization: Bearer <key>). Real environments never output a key."
  value       = var.api_key
}
