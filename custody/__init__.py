"""Platform-managed EVM wallets for merchants that have none (custody).

The merchant's secp256k1 key is generated on the server and kept only encrypted, behind the small
key-management interface of :mod:`custody.keystore` so a cloud KMS or an HSM can replace the
envelope encryption in the database. No method returns a private key.
"""
