"""The vocabulary and rules of cooperation agreements (PKS): catalog, scope, masks, SOP workflow."""
