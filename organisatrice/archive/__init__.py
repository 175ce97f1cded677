"""The sent-mail archive: every email as sent with its order, its status history, internal
notes, manual hand-overs, the integrity chain's verification, retention and exports."""
