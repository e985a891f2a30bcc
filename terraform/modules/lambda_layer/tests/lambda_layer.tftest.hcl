mock_provider "aws" {}

variables {
  name         = "sluice-test-shared"
  package_path = "/dist/layers/shared.zip"
  package_hash = "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
}

run "layer_from_zip" {
  command = plan

  assert {
    condition     = aws_lambda_layer_version.this.filename == var.package_path && aws_lambda_layer_version.this.source_code_hash == var.package_hash
    error_message = "the layer is published from the built zip, versioned by its hash"
  }

  assert {
    condition     = aws_lambda_layer_version.this.compatible_runtimes == toset(["python3.11"])
    error_message = "compatible runtime defaults to python3.11"
  }
}

run "rejects_hex_hash" {
  command = plan

  variables {
    package_hash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
  }

  expect_failures = [var.package_hash]
}
