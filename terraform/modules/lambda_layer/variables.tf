variable "name" {
  description = "Layer name (by convention <prefix>-shared)."
  type        = string

  validation {
    condition     = can(regex("^[a-zA-Z0-9_-]{1,140}$", var.name))
    error_message = "name must be 1-140 characters of [a-zA-Z0-9_-]."
  }
}

variable "description" {
  description = "Layer description."
  type        = string
  default     = null
}

variable "package_path" {
  description = "Absolute path of the built layer zip (scripts/build.py output; python/... at the zip root)."
  type        = string

  validation {
    condition     = endswith(var.package_path, ".zip")
    error_message = "package_path must be a .zip file."
  }
}

variable "package_hash" {
  description = "Base64-encoded SHA-256 of the zip (manifest.json sha256_base64). A new version is published only when it changes."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9+/]{43}=$", var.package_hash))
    error_message = "package_hash must be a base64-encoded SHA-256 (44 characters ending in =)."
  }
}

variable "compatible_runtimes" {
  description = "Runtimes the layer is built for."
  type        = list(string)
  default     = ["python3.11"]

  validation {
    condition     = length(var.compatible_runtimes) >= 1 && length(var.compatible_runtimes) <= 15
    error_message = "give 1 to 15 compatible runtimes."
  }
}

variable "compatible_architectures" {
  description = "Instruction set architectures the layer's binary wheels are built for."
  type        = list(string)
  default     = ["x86_64"]

  validation {
    condition     = alltrue([for a in var.compatible_architectures : contains(["x86_64", "arm64"], a)])
    error_message = "compatible_architectures must be x86_64 and/or arm64."
  }
}

variable "license_info" {
  description = "License of the layer's contents (SPDX identifier or URL)."
  type        = string
  default     = null
}
