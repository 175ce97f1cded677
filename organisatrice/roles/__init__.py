"""Companies, employees and their roles; sign-in; the permission rule book and the guard."""
