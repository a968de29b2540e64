"""The `sky2ground` command line: one entry point, one module per subcommand."""
