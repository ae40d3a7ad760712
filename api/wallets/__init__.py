"""What a wallet needs to talk to the platform's contracts: chain id, addresses, ABIs, EIP-712 domains."""
