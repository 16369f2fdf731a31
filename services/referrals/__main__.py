from services.referrals.app import build
from shared.service import serve

serve(build())
