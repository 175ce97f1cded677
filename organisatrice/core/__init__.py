"""The shared kernel: base Structs, the error vocabulary, transactions and the blob store.
It imports no room."""
