"""``python -m amicli`` runs ``ami``."""

from .cli import main

if __name__ == "__main__":
    main()
