"""What leaves the warehouse: the publication ledger and digest outputs, delivery, OCDS and translation."""
