"""One module per ``ami`` subcommand, each a thin click layer over the library."""
