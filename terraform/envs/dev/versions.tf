terraform {
  required_version = ">= 1.10.0"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "6.20.0"
    }
  }

  # Partial configuration: CD passes -backend-config="bucket=…" -backend-config="region=…".
  # S3-native locking (use_lockfile) needs no DynamoDB table.
  backend "s3" {
    key          = "finlake/dev/terraform.tfstate"
    encrypt      = true
    use_lockfile = true
  }
}

provider "aws" {
  region              = var.region
  allowed_account_ids = [var.aws_account_id] # dev and prod never share an account

  default_tags {
    tags = local.tags
  }
}
