"""Pure domain model: orders, their lifecycle and errors. No AWS or vendor imports."""
