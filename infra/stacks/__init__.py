"""The CDK stacks of lastmile's deployment."""
