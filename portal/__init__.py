"""The merchant portal: server-rendered pages where a merchant's owner and cashiers run their sales."""
