"""Clients, buildings, contacts, work orders, work items, materials, photos and documents."""
