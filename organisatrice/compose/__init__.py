"""Templates, the six blocks, placeholders, attachments (work report PDF, photo documentation)
and drafts."""
