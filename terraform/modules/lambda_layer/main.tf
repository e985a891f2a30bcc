resource "aws_lambda_layer_version" "this" {
  layer_name               = var.name
  description              = var.description
  filename                 = var.package_path
  source_code_hash         = var.package_hash
  compatible_runtimes      = var.compatible_runtimes
  compatible_architectures = var.compatible_architectures
  license_info             = var.license_info

  # Keep the previous version until the functions have moved to the new one (create the new version first).
  # The hash is the layer's identity; where the zip sits (another checkout, a CI workspace) is not.
  lifecycle {
    create_before_destroy = true
    ignore_changes        = [filename]
  }
}
